// The uploader against a small node:http stand-in for the controller's cache-file route
// (the real route is being written in parallel; the lead runs the pair end to end).
// It follows the AGENT_ROUTES.cacheFile contract: GET status, PUT with content-range
// when resuming, 409 offset_mismatch, 422 checksum_mismatch.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentHttpClient } from '../../agent/src/link/http-client.js';
import { JobJournal, type JournalEntry, journalPath } from '../../agent/src/state/journal.js';
import { silentLogger } from '../../agent/src/support/log.js';
import { Uploader } from '../../agent/src/uploads/uploader.js';
import { UPLOAD_HEADERS } from '../../shared/src/agent-api.js';
import { freePort } from '../support/ports.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const CREDENTIAL = 'node-1.abcdefghijklmnopqrstuvwx';
const FAST = { baseMs: 5, capMs: 40 };

interface PutLog {
  contentRange: string | undefined;
  epoch: string | undefined;
  sha256: string | undefined;
  totalBytes: string | undefined;
}

/** Controller-side upload state; survives the HTTP server being stopped and started. */
class FakeCacheFileRoute {
  received = Buffer.alloc(0);
  complete = false;
  puts: PutLog[] = [];
  failedReports: unknown[] = [];
  /** Cut the connection of the first PUT once this many bytes of the file are held. */
  cutAt: number | undefined;
  /** Complete with this digest instead of the real one (a different file). */
  forceSha: string | undefined;
  /** Whether the agent's file still existed when the controller completed the upload. */
  fileExistedAtCompletion: boolean | undefined;
  private server: Server | undefined;

  constructor(
    private readonly recordingId: string,
    private readonly localPath: string,
  ) {}

  async listen(port = 0): Promise<number> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  private status() {
    const sha256 = this.complete
      ? (this.forceSha ?? createHash('sha256').update(this.received).digest('hex'))
      : null;
    return {
      recordingId: this.recordingId,
      receivedBytes: this.received.length,
      complete: this.complete,
      sha256,
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${CREDENTIAL}`) {
      return send(401, { error: { code: 'unauthenticated', message: 'no' }, requestId: 'x' });
    }
    const url = req.url ?? '';
    if (url.endsWith('/heartbeat')) {
      return send(200, {
        data: { leaseExpiresAt: new Date().toISOString(), stopRequested: false, state: 'uploading' },
      });
    }
    if (url.endsWith('/failed')) {
      this.failedReports.push(JSON.parse(await text(req)));
      return send(200, { data: {} });
    }
    if (url !== `/api/v1/recordings/${this.recordingId}/cache-file`) {
      return send(404, { error: { code: 'not_found', message: url }, requestId: 'x' });
    }
    if (req.method === 'GET') return send(200, { data: this.status() });

    const contentRange = req.headers['content-range'];
    const total = Number(req.headers[UPLOAD_HEADERS.totalBytes]);
    const sha = String(req.headers[UPLOAD_HEADERS.sha256]);
    this.puts.push({
      contentRange,
      epoch: req.headers[UPLOAD_HEADERS.epoch] as string | undefined,
      sha256: sha,
      totalBytes: req.headers[UPLOAD_HEADERS.totalBytes] as string | undefined,
    });
    const offset = contentRange ? Number(/^bytes (\d+)-/.exec(contentRange)?.[1]) : 0;
    if (offset !== this.received.length) {
      req.resume();
      return send(409, {
        error: {
          code: 'offset_mismatch',
          message: 'offset',
          details: { receivedBytes: this.received.length },
        },
        requestId: 'x',
      });
    }
    const cutAt = this.puts.length === 1 ? this.cutAt : undefined;
    for await (const chunk of req) {
      this.received = Buffer.concat([this.received, chunk as Buffer]);
      if (cutAt !== undefined && this.received.length >= cutAt) {
        // Keep exactly cutAt bytes (what reached our disk), then drop the connection.
        this.received = this.received.subarray(0, cutAt);
        req.socket.destroy();
        return;
      }
    }
    if (this.received.length < total) return send(200, { data: this.status() });
    if (createHash('sha256').update(this.received).digest('hex') !== sha) {
      this.received = Buffer.alloc(0);
      return send(422, { error: { code: 'checksum_mismatch', message: 'sha256 differs' }, requestId: 'x' });
    }
    this.complete = true;
    this.fileExistedAtCompletion = existsSync(this.localPath);
    return send(200, { data: this.status() });
  }
}

async function text(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

let dir: TempDir;
let file: Buffer;
let entry: JournalEntry;
let journal: JobJournal;
let fake: FakeCacheFileRoute;
let uploader: Uploader | undefined;

beforeEach(async () => {
  dir = await tempDir('agent-upload');
  file = randomBytes(1024 * 1024 + 17);
  const path = join(dir.path, 'rec-1-e3.wav');
  await writeFile(path, file);
  entry = {
    jobId: 'job-1',
    recordingId: 'rec-1',
    epoch: 3,
    state: 'recorded',
    path,
    sampleRate: 48_000,
    channels: 2,
    startedAtMs: Date.now(),
    sizeBytes: file.length,
    sha256: createHash('sha256').update(file).digest('hex'),
  };
  journal = new JobJournal(journalPath(dir.path));
  await journal.load();
  await journal.put(entry);
  fake = new FakeCacheFileRoute('rec-1', path);
});

afterEach(async () => {
  await uploader?.stop();
  uploader = undefined;
  await fake.close();
  await dir.cleanup();
});

function startUploader(port: number, fetchImpl?: typeof fetch): Uploader {
  const api = new AgentHttpClient({
    baseUrl: `http://127.0.0.1:${port}`,
    credential: CREDENTIAL,
    fetch: fetchImpl,
  });
  uploader = new Uploader({
    api,
    journal,
    log: silentLogger(),
    jobHeartbeatIntervalMs: () => 50,
    backoff: FAST,
  });
  uploader.start();
  return uploader;
}

describe('agent uploader', () => {
  it('resumes an interrupted upload from the offset the controller holds, then deletes the file', async () => {
    const cutAt = 300_001; // not a chunk boundary: only the server knows it
    fake.cutAt = cutAt;
    const port = await fake.listen();
    await startUploader(port).idle();

    expect(fake.puts).toHaveLength(2);
    expect(fake.puts[0]?.contentRange).toBeUndefined();
    expect(fake.puts[1]?.contentRange).toBe(`bytes ${cutAt}-${file.length - 1}/${file.length}`);
    for (const put of fake.puts) {
      expect(put).toMatchObject({ epoch: '3', sha256: entry.sha256, totalBytes: String(file.length) });
    }
    expect(fake.received.equals(file)).toBe(true);
    // Deleted only after the controller confirmed the checksum, never before.
    expect(fake.fileExistedAtCompletion).toBe(true);
    expect(existsSync(entry.path)).toBe(false);
    expect(journal.get('job-1')).toBeUndefined();
    const reloaded = new JobJournal(journalPath(dir.path));
    await reloaded.load();
    expect(reloaded.list()).toEqual([]);
  });

  it('keeps retrying while the controller is down and finishes once it is back', async () => {
    const port = await freePort();
    let attempts = 0;
    let restarted: Promise<number> | undefined;
    const countingFetch: typeof fetch = (input, init) => {
      attempts++;
      // After a few refused connections, the controller comes back on the same port.
      if (attempts === 4) restarted = fake.listen(port);
      return fetch(input, init);
    };
    await startUploader(port, countingFetch).idle();

    expect(await restarted).toBe(port);
    expect(attempts).toBeGreaterThan(4);
    expect(fake.received.equals(file)).toBe(true);
    expect(existsSync(entry.path)).toBe(false);
  });

  it('re-reads the status after 409 offset_mismatch instead of guessing', async () => {
    // The controller already holds the first 1000 bytes; a whole-file PUT would be refused.
    fake.received = Buffer.from(file.subarray(0, 1000));
    const port = await fake.listen();
    await startUploader(port).idle();
    expect(fake.puts[0]?.contentRange).toBe(`bytes 1000-${file.length - 1}/${file.length}`);
    expect(fake.received.equals(file)).toBe(true);
  });

  it('on 422 checksum mismatch reports the job failed and keeps the file', async () => {
    await journal.update('job-1', { sha256: 'e'.repeat(64) }); // what the agent believes
    const port = await fake.listen();
    await startUploader(port).idle();

    expect(fake.failedReports).toEqual([{ epoch: 3, reason: expect.stringMatching(/checksum mismatch/) }]);
    expect(existsSync(entry.path)).toBe(true);
    expect(journal.get('job-1')).toMatchObject({ state: 'failed' });
  });

  it('keeps the file when the controller reports complete with a different checksum', async () => {
    fake.received = Buffer.from(file);
    fake.complete = true;
    fake.forceSha = 'd'.repeat(64);
    const port = await fake.listen();
    await startUploader(port).idle();

    expect(existsSync(entry.path)).toBe(true);
    expect(journal.get('job-1')).toMatchObject({
      state: 'recorded',
      lastError: expect.stringMatching(/different file/),
    });
    expect(await readdir(dir.path)).toContain('rec-1-e3.wav');
  });
});
