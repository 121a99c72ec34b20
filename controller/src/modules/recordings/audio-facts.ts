/**
 * What an uploaded recording file is, read from its first bytes: the container (RIFF/WAVE PCM
 * or FLAC), sample rate, channels, bits per sample and duration. The controller records what arrived, not what
 * the agent was asked for: an agent recovering a crashed FLAC recording uploads a WAV.
 */

export type Container = 'wav' | 'flac';

export interface AudioFacts {
  container: Container;
  sampleRate: number | null;
  channels: number | null;
  /** Bits per sample (16 or 24 from our agents). */
  bitDepth: number | null;
  durationMs: number | null;
}

/** Enough to reach the `data` chunk of any WAV an agent writes, and FLAC's STREAMINFO. */
export const AUDIO_PROBE_BYTES = 4096;

export const CONTAINER_MEDIA_TYPES: Record<Container, string> = { wav: 'audio/wav', flac: 'audio/flac' };

/** The facts of a WAV or FLAC file from its head; null when it is neither. */
export function audioFacts(head: Buffer, fileSize: number): AudioFacts | null {
  if (head.length >= 4 && head.toString('ascii', 0, 4) === 'fLaC') return flacFacts(head);
  const wav = wavFacts(head, fileSize);
  return wav ? { container: 'wav', ...wav } : null;
}

/**
 * FLAC: the `fLaC` marker, then STREAMINFO (always the first metadata block): sample rate
 * (20 bits), channels − 1 (3), bits per sample − 1 (5), total samples (36; 0 = unknown).
 */
function flacFacts(head: Buffer): AudioFacts {
  const info = 8; // marker (4) + block header (4)
  if (head.length < info + 18 || (head[4]! & 0x7f) !== 0) {
    return { container: 'flac', sampleRate: null, channels: null, bitDepth: null, durationMs: null };
  }
  const sampleRate = (head[info + 10]! << 12) | (head[info + 11]! << 4) | (head[info + 12]! >> 4);
  const channels = ((head[info + 12]! >> 1) & 0x07) + 1;
  const bitDepth = (((head[info + 12]! & 0x01) << 4) | (head[info + 13]! >> 4)) + 1;
  const totalSamples = (head[info + 13]! & 0x0f) * 2 ** 32 + head.readUInt32BE(info + 14);
  return {
    container: 'flac',
    sampleRate: sampleRate || null,
    channels,
    bitDepth,
    durationMs: sampleRate && totalSamples ? Math.round((totalSamples / sampleRate) * 1000) : null,
  };
}

/**
 * Reads `fmt ` (channels, rate, byte rate, bits per sample) and `data` (size) from the start of a RIFF/WAVE
 * file. A streaming writer may leave the data size at 0 or 0xFFFFFFFF; then the rest of the
 * file is the data.
 */
function wavFacts(head: Buffer, fileSize: number): Omit<AudioFacts, 'container'> | null {
  if (head.length < 12 || head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE')
    return null;
  let offset = 12;
  let format: { channels: number; sampleRate: number; byteRate: number; bitDepth: number | null } | undefined;
  while (offset + 8 <= head.length) {
    const id = head.toString('ascii', offset, offset + 4);
    const size = head.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ' && body + 12 <= head.length)
      format = {
        channels: head.readUInt16LE(body + 2),
        sampleRate: head.readUInt32LE(body + 4),
        byteRate: head.readUInt32LE(body + 8),
        bitDepth: body + 16 <= head.length ? head.readUInt16LE(body + 14) || null : null,
      };
    if (id === 'data') {
      if (!format?.byteRate) return null;
      const available = Math.max(0, fileSize - body);
      const dataBytes = size === 0 || size === 0xffff_ffff || size > available ? available : size;
      return {
        channels: format.channels,
        sampleRate: format.sampleRate,
        bitDepth: format.bitDepth,
        durationMs: Math.round((dataBytes / format.byteRate) * 1000),
      };
    }
    offset = body + size + (size % 2);
  }
  return null;
}

/** The duration of a WAV file from its head, or null when it is not a PCM WAV we can read. */
export function wavDurationMs(head: Buffer, fileSize: number): number | null {
  return wavFacts(head, fileSize)?.durationMs ?? null;
}
