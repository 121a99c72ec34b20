/**
 * `earshot-controller listen <nodeId>`: hear a node live, written to a WAV file (or standard
 * output, to pipe into `play -`), with the session's progress on standard error.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { ListenRefused, listen } from './listen-client.js';

export interface ListenCommandOptions {
  url: string;
  channels: string;
  bitrate?: string;
  seconds?: string;
  out: string;
}

/** A WAV header for 16-bit PCM whose length is not known yet (streaming: sizes at their maximum). */
export function streamingWavHeader(sampleRate: number, channels: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(0xffffffff, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(0xffffffff, 40);
  return header;
}

function parseChannels(text: string): number[] {
  const channels = text.split(',').map((c) => Number.parseInt(c.trim(), 10));
  if (channels.length < 1 || channels.length > 2 || channels.some((c) => !Number.isInteger(c) || c < 1))
    throw new ListenRefused('--channels takes one or two 1-based channel numbers, e.g. 1 or 1,2');
  return channels;
}

export async function runListenCommand(nodeId: string, options: ListenCommandOptions): Promise<number> {
  const token = process.env.EARSHOT_TOKEN;
  if (!token) {
    console.error(
      'Set EARSHOT_TOKEN to an API token (or session token) of a user with listen:monitor on the node.',
    );
    return 2;
  }
  const seconds = options.seconds ? Number(options.seconds) : undefined;
  const out: WriteStream | NodeJS.WriteStream =
    options.out === '-' ? process.stdout : createWriteStream(options.out);
  let wroteHeader = false;
  let heardSamples = 0;
  const connection = await listen(
    {
      baseUrl: options.url.replace(/\/$/, ''),
      token,
      nodeId,
      channels: parseChannels(options.channels),
      bitrate: options.bitrate ? Number(options.bitrate) : undefined,
    },
    ({ pcm }) => {
      if (!wroteHeader) {
        out.write(streamingWavHeader(48_000, connection.hello.channels.length));
        wroteHeader = true;
      }
      out.write(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
      heardSamples += pcm.length / connection.hello.channels.length;
    },
  );
  console.error(
    `listening to ${nodeId} (channels ${connection.hello.channels.join(',')}, Opus ${connection.hello.frameMs} ms frames); Ctrl-C ends`,
  );
  const progress = setInterval(() => {
    const { frames, lost } = connection.stats;
    process.stderr.write(
      `\r${(heardSamples / 48_000).toFixed(1)} s heard, ${frames} frames, ${lost} lost   `,
    );
  }, 500);
  const stop = () => void connection.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const timer = seconds ? setTimeout(stop, seconds * 1000) : undefined;
  await connection.done;
  clearInterval(progress);
  clearTimeout(timer);
  process.stderr.write('\n');
  // A session the agent or the controller ended, or one that heard nothing, is not a success.
  const failed = connection.endReason !== undefined && connection.endReason !== 'ended by its user';
  if (failed) console.error(`the session ended: ${connection.endReason}`);
  else if (heardSamples === 0)
    console.error(
      `nothing was heard from ${nodeId}: is its agent connected? (GET /api/v1/nodes/${nodeId} shows when it was last seen)`,
    );
  await new Promise<void>((resolve) => (out === process.stdout ? resolve() : out.end(resolve)));
  return failed || heardSamples === 0 ? 1 : 0;
}
