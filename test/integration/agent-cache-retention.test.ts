/**
 * Agent-cache retention on a real controller and database: the agent-cache retention policies
 * reach every agent with its config; a confirmed upload's copy is kept while a policy keeps it
 * (the real uploader against the real upload route), removed oldest first when a limit is reached,
 * and each removal is reported to the controller, which records and audits it once with its policy
 * (a report made while the controller is away is sent on the next pass). A change to an agent-cache
 * policy nudges every agent (a real MQTT client as the agent). The disk's free space and
 * the agent's clock are the only things faked.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { AgentHttpClient } from '../../agent/src/link/http-client.js';
import { JobJournal, type JournalEntry, journalPath } from '../../agent/src/state/journal.js';
import { silentLogger } from '../../agent/src/support/log.js';
import { CacheRetention } from '../../agent/src/uploads/cache-retention.js';
import { Uploader } from '../../agent/src/uploads/uploader.js';
import type { CacheRetentionPolicy, NodeConfig } from '../../shared/src/agent-api.js';
import { type Command, nodeTopic } from '../../shared/src/mqtt.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';
import { freePort } from '../support/ports.js';
import { claimNext, completedRecording, createRecording, sha256, wavBytes } from '../support/recordings.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const DAY = 86_400_000;
const WAV = wavBytes(1000); // 1044 bytes

describe(`agent-cache retention (${inject('testDb')})`, () => {
  let ctl: TestController;
  let owner: string;
  let dir: TempDir;
  let node: { nodeId: string; credential: string };
  let api: AgentHttpClient;
  let policyId: string;
  let mqtt: MqttClient | undefined;

  const call = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
    ctl.app.inject({ method, url: `/api/v1${url}`, headers: bearer(owner), ...(payload ? { payload } : {}) });
  const report = (recordingId: string, credential = node.credential) =>
    ctl.app.inject({
      method: 'POST',
      url: `/api/v1/recordings/${recordingId}/agent-copy/removed`,
      headers: bearer(credential),
      payload: {
        policy: { id: policyId, name: 'agent spare', revision: 1 },
        rule: 'maxBytes',
        removedAt: '2026-12-05T10:00:00.000Z',
      },
    });
  const audits = (recordingId: string) =>
    ctl.db.auditEvent.findMany({ where: { action: 'recording.agent_copy_removed', targetId: recordingId } });

  beforeAll(async () => {
    ctl = await testController({ mqttHost: '127.0.0.1' });
    await ctl.start();
    owner = await ctl.ownerToken();
    await ctl.app.listen({ port: 0, host: '127.0.0.1' });
    dir = await tempDir('agent-cache');
    node = await enrolledNode(ctl, { id: 'cache-node', site: 'cache-site' });
    api = new AgentHttpClient({
      baseUrl: `http://127.0.0.1:${(ctl.app.server.address() as AddressInfo).port}`,
      credential: node.credential,
    });
    const created = await call('POST', '/settings/retention-policies', {
      name: 'agent spare',
      body: { scope: 'agent-cache', maxAgeDays: null, maxBytes: 2 * WAV.length, keepTagged: false },
    });
    expect(created.statusCode, created.body).toBe(201);
    policyId = created.json().data.id;
  });
  afterAll(async () => {
    await mqtt?.endAsync(true).catch(() => {});
    await ctl?.stop();
    await dir?.cleanup();
  });

  it('hands the agent-cache policies, and only those, to every agent with its config', async () => {
    await call('POST', '/settings/retention-policies', {
      name: 'controller store',
      body: { scope: 'controller', maxAgeDays: 30 },
    });
    const config: NodeConfig = await api.config();
    expect(config.cacheRetention).toEqual([
      {
        id: policyId,
        name: 'agent spare',
        revision: 1,
        maxAgeDays: null,
        maxBytes: 2 * WAV.length,
        minFreeDiskPercent: null,
      },
    ]);
  });

  it('a change to an agent-cache policy nudges every agent to refetch its config, a controller one none', async () => {
    mqtt = await connectAsync(`mqtt://127.0.0.1:${ctl.broker.port()}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      username: node.nodeId,
      password: node.credential,
    });
    const commands: Command[] = [];
    mqtt.on('message', (_topic, payload) => commands.push(JSON.parse(payload.toString()) as Command));
    await mqtt.subscribeAsync(nodeTopic(node.nodeId, 'cmd'), { qos: 1 });
    const nudged = () => commands.filter((c) => c.type === 'config-changed').length;

    const controllerOnly = await call('POST', '/settings/retention-policies', {
      name: 'controller only',
      body: { scope: 'controller', maxAgeDays: 365 },
    });
    expect(controllerOnly.statusCode, controllerOnly.body).toBe(201);
    const spare = await call('POST', '/settings/retention-policies', {
      name: 'second spare',
      body: { scope: 'agent-cache', maxAgeDays: 30 },
    });
    expect(spare.statusCode, spare.body).toBe(201);
    await vi.waitFor(() => expect(nudged()).toBe(1), { timeout: 10_000, interval: 20 });
    const removed = await ctl.app.inject({
      method: 'DELETE',
      url: `/api/v1/settings/retention-policies/${spare.json().data.id}`,
      headers: bearer(owner),
    });
    expect(removed.statusCode, removed.body).toBe(204);
    await vi.waitFor(() => expect(nudged()).toBe(2), { timeout: 10_000, interval: 20 });
    await ctl.app.inject({
      method: 'DELETE',
      url: `/api/v1/settings/retention-policies/${controllerOnly.json().data.id}`,
      headers: bearer(owner),
    });
    expect(nudged()).toBe(2); // the controller's policies are not the agents' business
  });

  it('refuses an agent-cache policy that waits for upload providers (an agent cannot see them)', async () => {
    const provider = await call('POST', '/settings/upload-providers', {
      name: 'disk',
      body: { kind: 'filesystem', root: join(dir.path, 'provider') },
    });
    expect(provider.statusCode, provider.body).toBe(201);
    const refused = await call('POST', '/settings/retention-policies', {
      name: 'waits',
      body: {
        scope: 'agent-cache',
        maxAgeDays: 1,
        deleteOnlyAfterVerifiedUploadTo: [provider.json().data.id],
      },
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toMatch(/applies to controller policies/);
  });

  it('keeps confirmed copies within the limits, removes the oldest past them, and reports each once', async () => {
    let nowMs = Date.UTC(2026, 11, 1);
    let policies: CacheRetentionPolicy[] = (await api.config()).cacheRetention ?? [];
    let reachable = true;
    const offline = new AgentHttpClient({
      baseUrl: `http://127.0.0.1:${await freePort()}`,
      credential: node.credential,
    });
    const journal = new JobJournal(journalPath(dir.path));
    await journal.load();
    const retention = new CacheRetention({
      journal,
      api: { agentCopyRemoved: (...args) => (reachable ? api : offline).agentCopyRemoved(...args) },
      policies: () => policies,
      cacheDir: dir.path,
      log: silentLogger(),
      now: () => nowMs,
      disk: async () => ({ totalBytes: 1e12, freeBytes: 1e12 }),
    });
    const uploader = new Uploader({
      api,
      journal,
      log: silentLogger(),
      jobHeartbeatIntervalMs: () => 3_600_000,
      backoff: { baseMs: 5, capMs: 40 },
      cache: retention,
    });
    await mkdir(join(dir.path, 'recordings'), { recursive: true });
    uploader.start(); // nothing queued: upload() below sends each recording itself

    /** A recording the real uploader sends to the controller; the journal entry it leaves. */
    async function uploaded(): Promise<JournalEntry> {
      const { id } = await createRecording(ctl, owner, node.nodeId, { durationSeconds: 5 });
      const { lease } = await claimNext(ctl, node.nodeId, node.credential);
      expect(lease?.recordingId).toBe(id);
      const path = join(dir.path, 'recordings', `${id}.wav`);
      await writeFile(path, WAV);
      const entry: JournalEntry = {
        jobId: lease!.jobId,
        recordingId: id,
        epoch: lease!.epoch,
        state: 'recorded',
        path,
        sampleRate: 48_000,
        channels: 2,
        startedAtMs: nowMs,
        sizeBytes: WAV.length,
        sha256: sha256(WAV),
      };
      await journal.put(entry);
      expect(await uploader.upload(entry)).toBe('confirmed');
      await retention.run();
      nowMs += 60_000;
      return entry;
    }
    const recording = (id: string) => ctl.db.recording.findUniqueOrThrow({ where: { id } });

    const first = await uploaded();
    const second = await uploaded();
    // Within maxBytes: both kept, as 'kept' journal entries with their files.
    expect(journal.get(first.jobId)).toMatchObject({ state: 'kept', confirmedAtMs: expect.any(Number) });
    expect(existsSync(first.path) && existsSync(second.path)).toBe(true);
    expect((await recording(first.recordingId)).state).toBe('completed');

    // A third passes maxBytes: the oldest goes, and the controller records it with the policy.
    const third = await uploaded();
    expect(existsSync(first.path)).toBe(false);
    expect(existsSync(second.path) && existsSync(third.path)).toBe(true);
    expect(journal.get(first.jobId)).toBeUndefined();
    expect(await recording(first.recordingId)).toMatchObject({
      agentCopyRemovedAt: expect.any(Date),
      agentCopyRemovedPolicy: policyId,
    });
    const [event] = await audits(first.recordingId);
    if (!event) throw new Error('no audit event for the removal');
    expect(event).toMatchObject({ actorType: 'node', actorId: node.nodeId, outcome: 'success' });
    expect(event.reason).toMatch(/"agent spare" \(maxBytes\)/);

    // The controller is away when maxAgeDays removes the rest: the removals wait in the journal…
    const patched = await call('PATCH', `/settings/retention-policies/${policyId}`, {
      body: { maxAgeDays: 1, maxBytes: null },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    policies = (await api.config()).cacheRetention ?? [];
    expect(policies[0]).toMatchObject({ maxAgeDays: 1, maxBytes: null, revision: 2 });
    nowMs += 2 * DAY;
    reachable = false;
    await retention.run();
    expect(existsSync(second.path) || existsSync(third.path)).toBe(false);
    expect(journal.get(second.jobId)?.copyRemoved).toMatchObject({ rule: 'maxAgeDays' });
    expect((await recording(second.recordingId)).agentCopyRemovedAt).toBeNull();

    // …and reach the controller on the next pass.
    reachable = true;
    await retention.run();
    expect(journal.list()).toEqual([]);
    for (const { recordingId } of [second, third]) {
      expect((await recording(recordingId)).agentCopyRemovedAt).not.toBeNull();
      expect(await audits(recordingId)).toHaveLength(1);
    }
    await uploader.stop();
  });

  it('without an agent-cache policy a confirmed copy is not kept (the uploader removes it)', async () => {
    const journal = new JobJournal(journalPath(join(dir.path, 'none')));
    await journal.load();
    const retention = new CacheRetention({
      journal,
      api,
      policies: () => [],
      cacheDir: dir.path,
      log: silentLogger(),
    });
    const entry = { jobId: 'j', recordingId: 'r', epoch: 1, state: 'recorded' as const, path: 'x' };
    await journal.put({ ...entry, sampleRate: 48_000, channels: 1, startedAtMs: 0 });
    expect(await retention.keep(journal.get('j')!)).toBe(false);
    expect(journal.get('j')?.state).toBe('recorded');
  });

  it('records a repeated report once, refuses an unconfirmed recording (409) and hides others (404)', async () => {
    const done = await completedRecording(ctl, owner, node, randomBytes(64));
    expect((await report(done.id)).statusCode).toBe(204);
    expect((await report(done.id)).statusCode).toBe(204);
    expect(await audits(done.id)).toHaveLength(1);

    const pending = await createRecording(ctl, owner, node.nodeId, { durationSeconds: 5 });
    const refused = await report(pending.id);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.message).toMatch(/may be its only one/);
    expect((await recording(pending.id)).agentCopyRemovedAt).toBeNull();

    const other = await enrolledNode(ctl, { id: 'other-node', site: 'cache-site' });
    expect((await report(done.id, other.credential)).statusCode).toBe(404);
  });

  const recording = (id: string) => ctl.db.recording.findUniqueOrThrow({ where: { id } });
});
