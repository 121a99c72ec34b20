/** Helpers for recording, job and upload tests: a WAV body, its digest, and the common calls. */
import { createHash } from 'node:crypto';
import type { JobLease } from '../../shared/src/agent-api.js';
import { bearer, type TestController } from './controller.js';

/** A PCM s16le WAV of `dataBytes` of deterministic pseudo-random samples. */
export function wavBytes(dataBytes: number, sampleRate = 48_000, channels = 2): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  const data = Buffer.alloc(dataBytes);
  let x = 12345;
  for (let i = 0; i < dataBytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return Buffer.concat([header, data]);
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface CreatedRecording {
  id: string;
  job: { id: string; state: string };
}

export async function createRecording(
  ctl: TestController,
  token: string,
  nodeId: string,
  extra: { durationSeconds?: number; title?: string } = {},
): Promise<CreatedRecording> {
  const res = await ctl.app.inject({
    method: 'POST',
    url: '/api/v1/recordings',
    headers: bearer(token),
    payload: { nodeId, ...extra },
  });
  if (res.statusCode !== 201) throw new Error(`create recording failed: ${res.statusCode} ${res.body}`);
  return res.json().data as CreatedRecording;
}

export async function claimNext(ctl: TestController, nodeId: string, credential: string) {
  const res = await ctl.app.inject({
    method: 'POST',
    url: `/api/v1/nodes/${nodeId}/recording-jobs/claim-next`,
    headers: bearer(credential),
    payload: {},
  });
  return {
    statusCode: res.statusCode,
    lease: res.statusCode === 200 ? (res.json().data as JobLease | null) : null,
  };
}

export function uploadHeaders(
  credential: string,
  epoch: number,
  digest: string,
  totalBytes: number,
  offset = 0,
): Record<string, string> {
  return {
    ...bearer(credential),
    'content-type': 'application/octet-stream',
    'x-earshot-epoch': String(epoch),
    'x-earshot-sha256': digest,
    'x-earshot-total-bytes': String(totalBytes),
    ...(offset > 0 ? { 'content-range': `bytes ${offset}-${totalBytes - 1}/${totalBytes}` } : {}),
  };
}

/**
 * A completed recording on `node` holding `body` (a WAV or FLAC file): created, claimed by the
 * node's agent (draining older queued jobs of that node) and uploaded in one request.
 */
export async function completedRecording(
  ctl: TestController,
  token: string,
  node: { nodeId: string; credential: string },
  body: Buffer,
  extra: { title?: string } = {},
): Promise<CreatedRecording> {
  const created = await createRecording(ctl, token, node.nodeId, { durationSeconds: 5, ...extra });
  for (;;) {
    const { lease } = await claimNext(ctl, node.nodeId, node.credential);
    if (!lease) throw new Error(`no job to claim for ${created.id}`);
    if (lease.recordingId !== created.id) continue;
    const put = await ctl.app.inject({
      method: 'PUT',
      url: `/api/v1/recordings/${created.id}/cache-file`,
      headers: uploadHeaders(node.credential, lease.epoch, sha256(body), body.length),
      payload: body,
    });
    if (put.statusCode !== 200) throw new Error(`upload failed: ${put.statusCode} ${put.body}`);
    return created;
  }
}
