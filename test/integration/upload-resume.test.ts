import { constants } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobLease } from '../../shared/src/agent-api.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';
import { claimNext, createRecording, sha256, uploadHeaders, wavBytes } from '../support/recordings.js';

/**
 * Starts a PUT declared as the whole body, sends `partial`, waits until `arrived()`
 * says the controller is writing it, then cuts the connection mid-body.
 */
function interruptedPut(
  port: number,
  path: string,
  headers: Record<string, string>,
  partial: Buffer,
  arrived: () => Promise<boolean>,
) {
  return new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'PUT', headers });
    req.on('error', () => {}); // the socket we destroy
    req.on('response', () => reject(new Error('the server answered an unfinished upload')));
    req.write(partial, async (error) => {
      if (error) return reject(error);
      try {
        await until(async () => ((await arrived()) ? true : undefined), 'bytes to reach the controller');
        req.destroy();
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  });
}

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('resumable cache-file upload', () => {
  let ctl: TestController;
  let owner: string;
  let node: { nodeId: string; credential: string };
  let port: number;

  beforeAll(async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
    node = await enrolledNode(ctl, { id: 'uploader-1', site: 'hq' });
    await ctl.app.listen({ port: 0, host: '127.0.0.1' });
    port = (ctl.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => ctl.stop());

  async function claimed(): Promise<{ recordingId: string; lease: JobLease }> {
    const created = await createRecording(ctl, owner, node.nodeId);
    const { lease } = await claimNext(ctl, node.nodeId, node.credential);
    expect(lease?.recordingId).toBe(created.id);
    return { recordingId: created.id, lease: lease! };
  }

  const status = async (recordingId: string) =>
    (
      await ctl.app.inject({
        method: 'GET',
        url: `/api/v1/recordings/${recordingId}/cache-file`,
        headers: bearer(node.credential),
      })
    ).json().data as { receivedBytes: number; complete: boolean; sha256: string | null };

  it('keeps what arrived of a cut request and completes when the rest is sent from there', async () => {
    const { recordingId, lease } = await claimed();
    const body = wavBytes(2 * 1024 * 1024);
    const digest = sha256(body);
    const headers = {
      ...uploadHeaders(node.credential, lease.epoch, digest, body.length),
      'content-length': String(body.length),
    };
    await interruptedPut(
      port,
      `/api/v1/recordings/${recordingId}/cache-file`,
      headers,
      body.subarray(0, body.length / 2),
      async () => (await status(recordingId)).receivedBytes > 0,
    );

    // The controller records what it kept once it notices the cut.
    await until(async () => {
      const row = await ctl.db.recording.findUniqueOrThrow({ where: { id: recordingId } });
      return row.receivedBytes > 0n ? row : undefined;
    }, 'the interrupted upload to be recorded');
    const held = await status(recordingId);
    expect(held.complete).toBe(false);
    expect(held.receivedBytes).toBeGreaterThan(0);
    expect(held.receivedBytes).toBeLessThanOrEqual(body.length / 2);

    // Resuming from the wrong offset is refused with where to resume from.
    const wrong = await ctl.app.inject({
      method: 'PUT',
      url: `/api/v1/recordings/${recordingId}/cache-file`,
      headers: uploadHeaders(node.credential, lease.epoch, digest, body.length, held.receivedBytes + 1),
      payload: body.subarray(held.receivedBytes + 1),
    });
    expect(wrong.statusCode).toBe(409);
    expect(wrong.json().error).toMatchObject({
      code: 'offset_mismatch',
      details: { receivedBytes: held.receivedBytes },
    });
    const restart = await ctl.app.inject({
      method: 'PUT',
      url: `/api/v1/recordings/${recordingId}/cache-file`,
      headers: uploadHeaders(node.credential, lease.epoch, digest, body.length),
      payload: body,
    });
    expect(restart.statusCode).toBe(409);
    expect(restart.json().error.code).toBe('offset_mismatch');

    // The rest, over real HTTP, from the offset the controller holds.
    const rest = await fetch(`http://127.0.0.1:${port}/api/v1/recordings/${recordingId}/cache-file`, {
      method: 'PUT',
      headers: uploadHeaders(node.credential, lease.epoch, digest, body.length, held.receivedBytes),
      body: new Uint8Array(body.subarray(held.receivedBytes)),
    });
    expect(rest.status).toBe(200);
    expect((await rest.json()).data).toEqual({
      recordingId,
      receivedBytes: body.length,
      complete: true,
      sha256: digest,
    });

    const download = await ctl.app.inject({
      method: 'GET',
      url: `/api/v1/recordings/${recordingId}/file`,
      headers: bearer(owner),
    });
    expect(sha256(download.rawPayload)).toBe(digest);
    expect(await status(recordingId)).toMatchObject({
      complete: true,
      receivedBytes: body.length,
      sha256: digest,
    });
    // Repeating the completing request (its answer lost) gets the same answer.
    const repeat = await ctl.app.inject({
      method: 'PUT',
      url: `/api/v1/recordings/${recordingId}/cache-file`,
      headers: uploadHeaders(node.credential, lease.epoch, digest, body.length, held.receivedBytes),
      payload: body.subarray(held.receivedBytes),
    });
    expect(repeat.statusCode).toBe(200);
    expect(repeat.json().data.complete).toBe(true);
  });

  it('uploads in several requests, each from where the last stopped, their aligned bytes around the page cache', async () => {
    const directBytes = async () => {
      const metrics = await ctl.app.inject({ method: 'GET', url: '/metrics', headers: bearer(owner) });
      expect(metrics.statusCode).toBe(200);
      return Number(/^earshot_upload_direct_bytes_total (\d+)$/m.exec(metrics.body)?.[1]);
    };
    const before = await directBytes();
    const { recordingId, lease } = await claimed();
    const body = wavBytes(300_000);
    const digest = sha256(body);
    // Cuts that are not 4 KiB boundaries: each request's unaligned edges go through the page cache.
    const cuts = [0, 100_000, 200_000, body.length];
    for (let i = 0; i < cuts.length - 1; i++) {
      const res = await ctl.app.inject({
        method: 'PUT',
        url: `/api/v1/recordings/${recordingId}/cache-file`,
        headers: uploadHeaders(node.credential, lease.epoch, digest, body.length, cuts[i]),
        payload: body.subarray(cuts[i], cuts[i + 1]),
      });
      expect(res.statusCode).toBe(200);
      expect(res.json().data).toMatchObject({ receivedBytes: cuts[i + 1], complete: i === cuts.length - 2 });
    }
    const row = await ctl.db.recording.findUniqueOrThrow({ where: { id: recordingId } });
    expect(row).toMatchObject({ state: 'completed', sha256: digest, sizeBytes: BigInt(body.length) });
    const file = await readFile(join(ctl.config.dataDir, 'recordings', node.nodeId, `${recordingId}.wav`));
    expect(file.equals(body)).toBe(true);
    // Asked of the kernel, not of the code under test: does the data dir take O_DIRECT?
    const probePath = join(ctl.config.dataDir, 'direct-probe');
    const probe =
      constants.O_DIRECT === undefined
        ? undefined
        : await open(probePath, constants.O_CREAT | constants.O_WRONLY | constants.O_DIRECT).then(
            (handle) => handle,
            () => undefined,
          );
    await probe?.close();
    await rm(probePath, { force: true });
    const page = 4096;
    const aligned = (from: number, to: number) =>
      Math.max(0, Math.floor(to / page) * page - Math.ceil(from / page) * page);
    const expected = probe
      ? aligned(0, 100_000) + aligned(100_000, 200_000) + aligned(200_000, body.length)
      : 0;
    expect((await directBytes()) - before).toBe(expected);
  });

  it('verifies a resumed upload over every byte held: earlier bytes that differ get 422, not completion', async () => {
    const { recordingId, lease } = await claimed();
    const body = wavBytes(3 * 1024 * 1024);
    const digest = sha256(body);
    const put = (offset: number, payload: Buffer) =>
      ctl.app.inject({
        method: 'PUT',
        url: `/api/v1/recordings/${recordingId}/cache-file`,
        headers: uploadHeaders(node.credential, lease.epoch, digest, body.length, offset),
        payload,
      });
    // The first request carries a corrupted copy of the first half; the second the true rest.
    const half = body.length / 2;
    const corrupted = Buffer.from(body.subarray(0, half));
    corrupted[1000] = (corrupted[1000]! + 1) % 256;
    expect((await put(0, corrupted)).json().data).toMatchObject({ receivedBytes: half, complete: false });
    const rest = await put(half, body.subarray(half));
    expect(rest.statusCode).toBe(422);
    expect(rest.json().error).toMatchObject({ code: 'checksum_mismatch', details: { receivedBytes: 0 } });
    expect(await status(recordingId)).toMatchObject({ receivedBytes: 0, complete: false });

    // Sent again whole and right, in two requests: completed with the declared SHA-256.
    expect((await put(0, body.subarray(0, half))).statusCode).toBe(200);
    const done = await put(half, body.subarray(half));
    expect(done.json().data).toMatchObject({ complete: true, sha256: digest, receivedBytes: body.length });
  });

  it('discards a file whose checksum does not match (422) and accepts it again from byte 0', async () => {
    const { recordingId, lease } = await claimed();
    const body = wavBytes(50_000);
    const bad = await ctl.app.inject({
      method: 'PUT',
      url: `/api/v1/recordings/${recordingId}/cache-file`,
      headers: uploadHeaders(node.credential, lease.epoch, 'ab'.repeat(32), body.length),
      payload: body,
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.code).toBe('checksum_mismatch');
    expect(await status(recordingId)).toMatchObject({ receivedBytes: 0, complete: false });
    const job = await ctl.db.recordingJob.findUniqueOrThrow({ where: { id: lease.jobId } });
    expect(job.state).toBe('uploading');

    const good = await ctl.app.inject({
      method: 'PUT',
      url: `/api/v1/recordings/${recordingId}/cache-file`,
      headers: uploadHeaders(node.credential, lease.epoch, sha256(body), body.length),
      payload: body,
    });
    expect(good.statusCode).toBe(200);
    expect(good.json().data.complete).toBe(true);
  });

  it('refuses a body longer than the declared total (413) and malformed upload headers (400), never 500', async () => {
    const { recordingId, lease } = await claimed();
    const body = wavBytes(10_000);
    const url = `/api/v1/recordings/${recordingId}/cache-file`;
    const tooLong = await ctl.app.inject({
      method: 'PUT',
      url,
      headers: uploadHeaders(node.credential, lease.epoch, sha256(body), body.length - 10),
      payload: body,
    });
    expect(tooLong.statusCode).toBe(413);
    // Chunked (no content-length): caught while streaming, nothing kept.
    const chunked = await fetch(`http://127.0.0.1:${port}${url}`, {
      method: 'PUT',
      headers: uploadHeaders(node.credential, lease.epoch, sha256(body), body.length - 10),
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(body.subarray(0, 5000));
          controller.enqueue(body.subarray(5000));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await status(recordingId)).toMatchObject({ receivedBytes: 0 });

    const headers = uploadHeaders(node.credential, lease.epoch, sha256(body), body.length);
    const variants: Record<string, string>[] = [
      { ...headers, 'x-earshot-epoch': 'abc' },
      { ...headers, 'x-earshot-sha256': 'nothex' },
      { ...headers, 'x-earshot-total-bytes': '-5' },
      { ...headers, 'content-range': 'bytes 5-3/10000' },
      { ...headers, 'content-range': `bytes 0-99/${body.length}` },
      { ...headers, 'content-range': 'garbage' },
      { ...headers, 'content-type': 'application/json' },
    ];
    for (const variant of variants) {
      const res = await ctl.app.inject({ method: 'PUT', url, headers: variant, payload: body });
      expect(res.statusCode, JSON.stringify(variant)).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, JSON.stringify(variant)).toBeLessThan(500);
    }
    const ok = await ctl.app.inject({ method: 'PUT', url, headers, payload: body });
    expect(ok.json().data.complete).toBe(true);
  });
});
