/**
 * The controller killed between the last byte of an upload on disk and the commit that
 * completes it. The built controller runs as a process; an upload gets every byte but the
 * last through the API, the process is killed (SIGKILL), and the last byte is put in place
 * in its recording file store, as a write that reached the disk before the kill leaves it.
 * After a restart (a) the agent's retrying uploader gets its upload confirmed and deletes
 * its file only then, and (b) the restart alone completes an upload no agent asks about.
 */

import { existsSync } from 'node:fs';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentHttpClient } from '../../agent/src/link/http-client.js';
import { JobJournal, type JournalEntry, journalPath } from '../../agent/src/state/journal.js';
import { silentLogger } from '../../agent/src/support/log.js';
import { Uploader } from '../../agent/src/uploads/uploader.js';
import type { JobLease } from '../../shared/src/agent-api.js';
import { controllerSetup, fetchData, runController, setUpOwner } from '../support/controller-process.js';
import { type RunningProcess, requireBuild, waitFor } from '../support/processes.js';
import { sha256, uploadHeaders, wavBytes } from '../support/recordings.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const OWNER = { username: 'crash-owner', password: 'crash owner password 123' };
const NODE_ID = 'crash-node';

interface Held {
  recordingId: string;
  lease: JobLease;
  body: Buffer;
  digest: string;
}

describe('an upload whose completion a controller crash cut off', () => {
  let dir: TempDir;
  let dataDir: string;
  let controller: RunningProcess;
  let base: string;
  let ownerToken: string;
  let credential: string;
  let startController: () => Promise<void>;
  const logs = () => `controller:\n${controller?.output().slice(-5000)}`;

  async function call(path: string, init: RequestInit & { token?: string } = {}) {
    const { token, ...rest } = init;
    return fetchData(base, path, token, rest);
  }

  /** Every byte but the last through the API, the controller killed, the last byte on its disk. */
  async function heldWhole(dataBytes: number): Promise<Held> {
    const created = await call('/api/v1/recordings', {
      method: 'POST',
      token: ownerToken,
      body: JSON.stringify({ nodeId: NODE_ID, title: `crash ${dataBytes}` }),
    });
    const lease = (await call(`/api/v1/nodes/${NODE_ID}/recording-jobs/claim-next`, {
      method: 'POST',
      token: credential,
      body: '{}',
    })) as unknown as JobLease;
    expect(lease.recordingId).toBe(created.id);
    const body = wavBytes(dataBytes);
    const digest = sha256(body);
    const first = await fetch(`${base}/api/v1/recordings/${lease.recordingId}/cache-file`, {
      method: 'PUT',
      headers: uploadHeaders(credential, lease.epoch, digest, body.length),
      body: new Uint8Array(body.subarray(0, -1)),
    });
    expect(first.status).toBe(200);
    expect(((await first.json()) as { data: unknown }).data).toMatchObject({
      receivedBytes: body.length - 1,
      complete: false,
    });
    return { recordingId: lease.recordingId, lease, body, digest };
  }

  /** The controller's recording file store: `<dataDir>/recordings/<nodeId>/<id>.wav.part`. */
  const partPath = (recordingId: string) => join(dataDir, 'recordings', NODE_ID, `${recordingId}.wav.part`);

  async function recording(id: string) {
    return call(`/api/v1/recordings/${id}`, { token: ownerToken }) as Promise<{
      state: string;
      sha256: string | null;
      sizeBytes: number | null;
      job: { state: string };
    }>;
  }

  async function downloaded(id: string): Promise<Buffer> {
    const response = await fetch(`${base}/api/v1/recordings/${id}/file`, {
      headers: { authorization: `Bearer ${ownerToken}` },
    });
    expect(response.status).toBe(200);
    return Buffer.from(await response.arrayBuffer());
  }

  let askedByAgent: Held;
  let leftAlone: Held;
  let agentPath: string;
  let journal: JobJournal;
  let uploader: Uploader;

  beforeAll(async () => {
    requireBuild();
    dir = await tempDir('upload-crash');
    dataDir = join(dir.path, 'controller');
    const setup = await controllerSetup(dataDir);
    base = setup.base;
    startController = async () => {
      await runController(setup, { context: logs, onSpawn: (started) => (controller = started) });
    };
    await startController();
    ownerToken = await setUpOwner(base, OWNER);
    const enrolled = await call('/api/v1/nodes/enroll', {
      method: 'POST',
      token: ownerToken,
      body: JSON.stringify({ name: 'Crash node', site: 'lab', id: NODE_ID }),
    });
    credential = (
      await call('/api/v1/agent/enroll', {
        method: 'POST',
        body: JSON.stringify({ token: enrolled.enrollmentToken }),
      })
    ).credential as string;

    askedByAgent = await heldWhole(300_000);
    leftAlone = await heldWhole(200_000);
    // Killed with the last byte written and the completion not committed.
    expect(await controller.stop('SIGKILL')).toBeNull();
    for (const held of [askedByAgent, leftAlone])
      await appendFile(partPath(held.recordingId), held.body.subarray(-1));

    // The agent still holds its recording and keeps retrying while the controller is down.
    agentPath = join(dir.path, 'agent', `${askedByAgent.recordingId}.wav`);
    await mkdir(join(dir.path, 'agent'), { recursive: true });
    await writeFile(agentPath, askedByAgent.body);
    journal = new JobJournal(journalPath(join(dir.path, 'agent')));
    await journal.load();
    const entry: JournalEntry = {
      jobId: askedByAgent.lease.jobId,
      recordingId: askedByAgent.recordingId,
      epoch: askedByAgent.lease.epoch,
      state: 'recorded',
      path: agentPath,
      sampleRate: 48_000,
      channels: 2,
      startedAtMs: Date.now(),
      sizeBytes: askedByAgent.body.length,
      sha256: askedByAgent.digest,
    };
    await journal.put(entry);
    uploader = new Uploader({
      api: new AgentHttpClient({ baseUrl: base, credential }),
      journal,
      log: silentLogger(),
      jobHeartbeatIntervalMs: () => 3_600_000,
      backoff: { baseMs: 50, capMs: 500 },
    });
    uploader.start();

    await startController();
  }, 180_000);

  afterAll(async () => {
    await uploader?.stop();
    await controller?.stop();
    await dir?.cleanup();
  });

  it("(a) the agent's retry gets the upload completed, and its file is deleted only then", async () => {
    await uploader.idle();
    expect(journal.get(askedByAgent.lease.jobId), logs()).toBeUndefined(); // confirmed, not parked
    expect(existsSync(agentPath)).toBe(false);
    const done = await recording(askedByAgent.recordingId);
    expect(done).toMatchObject({
      state: 'completed',
      sha256: askedByAgent.digest,
      sizeBytes: askedByAgent.body.length,
      job: { state: 'completed' },
    });
    expect((await downloaded(askedByAgent.recordingId)).equals(askedByAgent.body)).toBe(true);
  });

  it('(b) the restart alone completes an upload held whole, verified against the declared SHA-256', async () => {
    const done = await waitFor(
      'the held upload to be completed after the restart',
      async () => {
        const r = await recording(leftAlone.recordingId);
        return r.state === 'completed' ? r : undefined;
      },
      30_000,
      logs,
    );
    expect(done).toMatchObject({
      sha256: leftAlone.digest,
      sizeBytes: leftAlone.body.length,
      job: { state: 'completed' },
    });
    expect((await downloaded(leftAlone.recordingId)).equals(leftAlone.body)).toBe(true);
    // Audited like any completion, by the controller itself.
    const events = (await call(
      `/api/v1/audit-events?action=recording.upload&targetId=${leftAlone.recordingId}`,
      { token: ownerToken },
    )) as unknown as { outcome: string; actor: { type: string; name: string | null } }[];
    expect(events).toEqual([
      expect.objectContaining({
        outcome: 'success',
        actor: expect.objectContaining({ type: 'system', name: 'upload-recovery' }),
      }),
    ]);
  });
});
