// The claim loop, recorder and uploader together, fed by a fake sound card (the one
// thing we do not own) and a node:http stand-in for the controller's agent routes
// (being written in parallel; the lead runs the real pair end to end).
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CaptureEvents } from '../../agent/src/capture/capture.js';
import { CaptureSupervisor } from '../../agent/src/capture/supervisor.js';
import { WAV_HEADER_BYTES, wavHeader } from '../../agent/src/capture/wav-writer.js';
import { recordingFileName } from '../../agent/src/jobs/recorder.js';
import { AgentHttpClient } from '../../agent/src/link/http-client.js';
import { JobJournal, journalPath } from '../../agent/src/state/journal.js';
import { silentLogger } from '../../agent/src/support/log.js';
import type { JobLease } from '../../shared/src/agent-api.js';
import { agentParts } from '../support/agent-parts.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const CREDENTIAL = 'node-1.abcdefghijklmnopqrstuvwx';
const RATE = 8000;
const CHANNELS = 2;
const FAST = { baseMs: 5, capMs: 40 };

/** A sound card that produces 100 ms of a ramp every millisecond, with frames split across chunks. */
class FakeCapture extends EventEmitter<CaptureEvents> {
  private timer: NodeJS.Timeout | undefined;
  private sample = 0;
  start(): void {
    this.timer = setInterval(() => {
      const chunk = Buffer.alloc((RATE / 10) * CHANNELS * 2 + 1);
      for (let i = 0; i + 1 < chunk.length; i += 2) chunk.writeInt16LE((this.sample++ % 20000) - 10000, i);
      this.emit('data', chunk.subarray(0, chunk.length - 1));
    }, 1);
  }
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.emit('close');
  }
}

class FakeController {
  leases: JobLease[] = [];
  jobHeartbeats: { jobId: string; body: unknown }[] = [];
  staleJobs = new Set<string>();
  uploads = new Map<string, { bytes: Buffer; complete: boolean; sha256: string | null }>();
  claims = 0;
  private server: Server | undefined;

  async listen(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = req.url ?? '';
    const heartbeat = /^\/api\/v1\/recording-jobs\/([^/]+)\/heartbeat$/.exec(url);
    const cacheFile = /^\/api\/v1\/recordings\/([^/]+)\/cache-file$/.exec(url);
    if (url === '/api/v1/nodes/node-1/recording-jobs/claim-next') {
      this.claims++;
      return send(200, { data: this.leases.shift() ?? null });
    }
    if (heartbeat) {
      const jobId = heartbeat[1]!;
      this.jobHeartbeats.push({ jobId, body: JSON.parse((await bytes(req)).toString('utf8')) });
      if (this.staleJobs.has(jobId)) {
        return send(409, { error: { code: 'stale_lease', message: 'epoch is not current' }, requestId: 'x' });
      }
      return send(200, {
        data: { leaseExpiresAt: new Date().toISOString(), stopRequested: false, state: 'recording' },
      });
    }
    if (cacheFile) {
      const recordingId = cacheFile[1]!;
      const upload = this.uploads.get(recordingId) ?? {
        bytes: Buffer.alloc(0),
        complete: false,
        sha256: null,
      };
      this.uploads.set(recordingId, upload);
      if (req.method === 'PUT') {
        upload.bytes = Buffer.concat([upload.bytes, await bytes(req)]);
        if (upload.bytes.length === Number(req.headers['x-earshot-total-bytes'])) {
          upload.complete = true;
          upload.sha256 = createHash('sha256').update(upload.bytes).digest('hex');
        }
      }
      const { complete, sha256 } = upload;
      return send(200, { data: { recordingId, receivedBytes: upload.bytes.length, complete, sha256 } });
    }
    return send(404, { error: { code: 'not_found', message: url }, requestId: 'x' });
  }
}

async function bytes(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function lease(patch: Partial<JobLease> = {}): JobLease {
  return {
    jobId: 'job-1',
    recordingId: 'rec-1',
    nodeId: 'node-1',
    epoch: 2,
    leaseExpiresAt: new Date(Date.now() + 60_000).toISOString(),
    durationSeconds: 1,
    stopRequested: false,
    sampleRate: RATE,
    channels: CHANNELS,
    ...patch,
  };
}

let dir: TempDir;
let controller: FakeController;
let journal: JobJournal;
let parts: { stop(): Promise<void> }[];

beforeEach(async () => {
  dir = await tempDir('agent-jobs');
  controller = new FakeController();
  journal = new JobJournal(journalPath(dir.path));
  await journal.load();
  parts = [];
});

afterEach(async () => {
  for (const part of parts.reverse()) await part.stop();
  await controller.close();
  await dir.cleanup();
});

/** Starts tap → capture → recorder → uploader → claim loop the way agent.ts does, and returns them. */
async function startAgentParts(baseUrl: string) {
  const log = silentLogger();
  const api = new AgentHttpClient({ baseUrl, credential: CREDENTIAL });
  const capture = new CaptureSupervisor({
    capture: { sampleRate: RATE, channels: CHANNELS },
    log,
    createCapture: () => new FakeCapture(),
  });
  const { tap, recorder, uploader, claimLoop } = agentParts({
    api,
    journal,
    source: capture,
    cacheDir: dir.path,
    log,
    jobHeartbeatIntervalMs: 20,
    jobPollIntervalMs: 3_600_000,
    backoff: FAST,
  });
  tap.start();
  parts.push({ stop: async () => tap.stop() });
  capture.start();
  parts.push(capture);
  await recorder.start();
  parts.push(recorder);
  uploader.start();
  parts.push(uploader);
  claimLoop.start();
  parts.push(claimLoop);
  return { capture, uploader, claimLoop, recorder };
}

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('agent claim loop', () => {
  it('records a claimed job for exactly its duration, uploads it and deletes it once confirmed', async () => {
    controller.leases.push(lease());
    const { uploader } = await startAgentParts(await controller.listen());

    await until(() => controller.uploads.get('rec-1')?.complete === true);
    await uploader.idle();
    const upload = controller.uploads.get('rec-1')!;
    // Sample-accurate: 1 s at 8 kHz stereo s16 = 32,000 data bytes.
    expect(upload.bytes.length).toBe(WAV_HEADER_BYTES + RATE * CHANNELS * 2);
    expect(upload.bytes.readUInt32LE(40)).toBe(RATE * CHANNELS * 2);
    expect(existsSync(join(dir.path, 'recordings', recordingFileName('rec-1', 2)))).toBe(false);
    expect(journal.list()).toEqual([]);
  });

  it('a job-available wake claims at once instead of waiting for the next poll', async () => {
    const { claimLoop, uploader } = await startAgentParts(await controller.listen());
    await until(() => controller.claims === 1); // first poll found nothing; the next is an hour away
    controller.leases.push(lease({ jobId: 'job-2', recordingId: 'rec-2' }));
    claimLoop.wake();
    await until(() => controller.uploads.get('rec-2')?.complete === true);
    await uploader.idle();
    expect(journal.list()).toEqual([]);
  });

  it('job-stop ends an open-ended recording; what was recorded is uploaded', async () => {
    controller.leases.push(lease({ durationSeconds: null }));
    const { recorder, uploader } = await startAgentParts(await controller.listen());
    await until(() => controller.jobHeartbeats.length >= 2);
    // The first heartbeat comes with the first audio and carries the capture facts.
    expect(controller.jobHeartbeats[0]).toEqual({
      jobId: 'job-1',
      body: { epoch: 2, state: 'recording', capture: { firstSampleAtMs: expect.any(Number) } },
    });
    expect(controller.jobHeartbeats[1]).toEqual({ jobId: 'job-1', body: { epoch: 2, state: 'recording' } });
    expect(recorder.stopRecording('other-job')).toBe(false);
    expect(recorder.stopRecording('job-1')).toBe(true);
    await until(() => controller.uploads.get('rec-1')?.complete === true);
    await uploader.idle();
    expect(controller.uploads.get('rec-1')!.bytes.length).toBeGreaterThan(WAV_HEADER_BYTES);
  });

  it('a stale lease stops the recording and keeps the file without uploading it', async () => {
    controller.leases.push(lease({ durationSeconds: null }));
    controller.staleJobs.add('job-1');
    await startAgentParts(await controller.listen());

    await until(() => journal.get('job-1')?.state === 'lease-lost');
    const entry = journal.get('job-1')!;
    const kept = await readFile(entry.path);
    expect(kept.length).toBe(entry.sizeBytes);
    expect(createHash('sha256').update(kept).digest('hex')).toBe(entry.sha256);
    expect(controller.uploads.has('rec-1')).toBe(false);
  });

  it('after a crash mid-recording, recovers the .part file and uploads it on start', async () => {
    const path = join(dir.path, 'recordings', recordingFileName('rec-9', 4));
    const pcm = Buffer.alloc(RATE * CHANNELS * 2, 3); // 1 s that reached the disk
    await journal.put({
      jobId: 'job-9',
      recordingId: 'rec-9',
      epoch: 4,
      state: 'recording',
      path,
      sampleRate: RATE,
      channels: CHANNELS,
      startedAtMs: Date.now(),
    });
    await mkdir(join(dir.path, 'recordings'), { recursive: true });
    await writeFile(`${path}.part`, Buffer.concat([wavHeader(RATE, CHANNELS, 0), pcm]));

    const { uploader } = await startAgentParts(await controller.listen());
    await until(() => controller.uploads.get('rec-9')?.complete === true);
    await uploader.idle();
    const uploaded = controller.uploads.get('rec-9')!.bytes;
    expect(uploaded.length).toBe(WAV_HEADER_BYTES + pcm.length);
    expect(uploaded.readUInt32LE(40)).toBe(pcm.length);
    expect(existsSync(path)).toBe(false);
    expect(journal.list()).toEqual([]);
  });
});
