/**
 * Upload providers and upload policies through the API, on the generic settings machinery:
 * create, update, history, rollback and a delete refused while a policy (or a retention policy)
 * names the provider; the secret access key sealed at rest and never shown (responses, history,
 * audit events, exports), kept when an update leaves it out, restored by a rollback; and the
 * provider `test` command against a directory and a real S3 endpoint (s3rver), failing ones
 * answering ok: false with a message per step.
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeyFile, SecretBox } from '../../controller/src/crypto/secret-box.js';
import { requestAs } from '../support/api.js';
import { type TestController, testController, userWithRole } from '../support/controller.js';
import { startS3, type TestS3 } from '../support/s3.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const SECRET_1 = 'first-Plaintext-Secret-4f1c';
const SECRET_2 = 'second-Plaintext-Secret-9ab2';
const SEALED = /v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\./;

describe('upload providers and policies', () => {
  let ctl: TestController;
  let owner: string;
  let s3: TestS3;
  let dir: TempDir;
  /** Everything the API answered in this file, searched for secrets at the end. */
  const answers: string[] = [];
  const api = async (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
    token = owner,
  ) => {
    const response = await requestAs(ctl.app, token, method, `/api/v1/settings${url}`, payload);
    answers.push(response.body);
    return response;
  };
  const s3Body = (over: Record<string, unknown> = {}) => ({
    kind: 's3',
    endpoint: s3.endpoint,
    region: 'us-east-1',
    bucket: 'recordings',
    prefix: 'earshot/',
    forcePathStyle: true,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: SECRET_1,
    ...over,
  });
  const create = async (family: string, name: string, body: object) => {
    const created = await api('POST', `/${family}`, { name, body });
    expect(created.statusCode, created.body).toBe(201);
    return created.json().data as { id: string; revision: number; body: Record<string, unknown> };
  };

  beforeAll(async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
    s3 = await startS3(['recordings']);
    dir = await tempDir('upload-root');
  });
  afterAll(async () => {
    await ctl.stop();
    await s3.stop();
    await dir.cleanup();
  });

  it('upload providers: create, update, history, rollback; a delete refused while in use', async () => {
    const first = await create('upload-providers', 'local disk', { kind: 'filesystem', root: dir.path });
    expect(first).toMatchObject({
      revision: 1,
      body: { kind: 'filesystem', root: dir.path, secretAccessKeySet: false },
    });
    const other = join(dir.path, 'other');
    const updated = await api('PATCH', `/upload-providers/${first.id}`, {
      body: { root: other },
      reason: 'move',
    });
    expect(updated.statusCode, updated.body).toBe(200);
    expect(updated.json().data).toMatchObject({ revision: 2, body: { root: other } });
    const history = (await api('GET', `/upload-providers/${first.id}/history`)).json().data;
    expect(history.map((h: { action: string }) => h.action)).toEqual(['create', 'update']);
    expect(history[1].before.body.root).toBe(dir.path);
    const rolled = await api('POST', `/upload-providers/${first.id}/rollback`, { revision: 1 });
    expect(rolled.json().data).toMatchObject({ revision: 3, body: { root: dir.path } });

    const policy = await create('upload-policies', 'nightly', { provider: first.id, trigger: 'scheduled' });
    const retention = await create('retention-policies', 'after upload', {
      deleteOnlyAfterVerifiedUploadTo: [first.id],
    });
    const refused = await api('DELETE', `/upload-providers/${first.id}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.message).toMatch(/in use by .*upload policy nightly/);
    expect(refused.json().error.message).toMatch(/retention policy after upload/);
    expect(refused.json().error.details.users).toEqual(
      expect.arrayContaining([
        { type: 'upload policy', id: policy.id, name: 'nightly' },
        { type: 'retention policy', id: retention.id, name: 'after upload' },
      ]),
    );
    const actions = (await api('GET', `/upload-providers/${first.id}/actions`)).json().data;
    expect(actions.delete.allowed).toBe(false);

    expect((await api('DELETE', `/upload-policies/${policy.id}`)).statusCode).toBe(204);
    expect((await api('DELETE', `/upload-providers/${first.id}`)).statusCode).toBe(409);
    const cleared = await api('PATCH', `/retention-policies/${retention.id}`, {
      body: { deleteOnlyAfterVerifiedUploadTo: [] },
    });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect((await api('DELETE', `/upload-providers/${first.id}`)).statusCode).toBe(204);
  });

  it('upload policies: create, update, history, rollback, delete; the provider must exist', async () => {
    const provider = await create('upload-providers', 'policy target', {
      kind: 'filesystem',
      root: dir.path,
    });
    const second = await create('upload-providers', 'policy target 2', {
      kind: 'filesystem',
      root: dir.path,
    });
    const first = await create('upload-policies', 'on complete', { provider: provider.id });
    expect(first.body).toEqual({
      provider: provider.id,
      trigger: 'on-complete',
      maxAttempts: 10,
      deleteCacheAfterVerifiedUpload: false,
    });
    const updated = await api('PATCH', `/upload-policies/${first.id}`, {
      body: { provider: second.id, maxAttempts: 3, deleteCacheAfterVerifiedUpload: true },
    });
    expect(updated.json().data).toMatchObject({ revision: 2, body: { provider: second.id, maxAttempts: 3 } });
    const history = (await api('GET', `/upload-policies/${first.id}/history`)).json().data;
    expect(history).toHaveLength(2);
    expect(history[1].after.body.provider).toBe(second.id);
    const rolled = await api('POST', `/upload-policies/${first.id}/rollback`, { revision: 1 });
    expect(rolled.json().data).toMatchObject({ revision: 3, body: first.body });

    const missing = randomUUID();
    for (const body of [{ provider: missing }]) {
      const refused = await api('POST', '/upload-policies', { name: 'dangling', body });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error.message).toContain(`there is no upload provider ${missing}`);
      const patch = await api('PATCH', `/upload-policies/${first.id}`, { body });
      expect(patch.statusCode).toBe(400);
    }
    const retention = await api('POST', '/retention-policies', {
      name: 'dangling retention',
      body: { deleteOnlyAfterVerifiedUploadTo: [missing] },
    });
    expect(retention.statusCode).toBe(400);
    expect(retention.json().error.message).toContain(`there is no upload provider ${missing}`);
    expect((await api('DELETE', `/upload-policies/${first.id}`)).statusCode).toBe(204);
  });

  it('refuses bad input on every upload route with a 4xx and writes nothing', async () => {
    const provider = await create('upload-providers', 'for bad input', {
      kind: 'filesystem',
      root: dir.path,
    });
    const policy = await create('upload-policies', 'for bad input', { provider: provider.id });
    const before = [await ctl.db.settingsObject.count(), await ctl.db.settingsRevision.count()];
    const badProviders: [object, RegExp][] = [
      [{}, /needs a root directory/],
      [{ root: 'relative/dir' }, /absolute path/],
      [{ root: dir.path, bucket: 'abc' }, /bucket is for s3 providers/],
      [{ kind: 's3' }, /needs region.*needs bucket|needs bucket/],
      [{ kind: 'cloud' }, /kind/],
      [
        {
          kind: 's3',
          endpoint: 'ftp://x.example',
          region: 'r',
          bucket: 'abc',
          accessKeyId: 'a',
          secretAccessKey: 'b',
        },
        /http/,
      ],
      [{ kind: 's3', endpoint: 'not a url' }, /endpoint/],
      [{ secretAccessKeySet: true }, /secretAccessKeySet|additional/i],
      [{ secretAccessKey: '' }, /secretAccessKey/],
    ];
    for (const [body, message] of badProviders) {
      const refused = await api('POST', '/upload-providers', { name: 'bad provider', body });
      expect(refused.statusCode, JSON.stringify(body)).toBe(400);
      expect(refused.json().error.message, JSON.stringify(body)).toMatch(message);
    }
    expect((await api('PATCH', `/upload-providers/${provider.id}`, { body: { root: 'x' } })).statusCode).toBe(
      400,
    );
    const badPolicies: object[] = [
      {},
      { provider: 'not-a-uuid' },
      { provider: provider.id, maxAttempts: 0 },
      { provider: provider.id, maxAttempts: 101 },
      { provider: provider.id, trigger: 'hourly' },
      { provider: provider.id, deleteCacheAfterVerifiedUpload: 'yes' },
    ];
    for (const body of badPolicies) {
      const refused = await api('POST', '/upload-policies', { name: 'bad policy', body });
      expect(refused.statusCode, JSON.stringify(body)).toBe(400);
    }
    expect(
      (await api('PATCH', `/upload-policies/${policy.id}`, { body: { maxAttempts: 0 } })).statusCode,
    ).toBe(400);
    expect((await api('POST', '/upload-providers/not-a-uuid/test')).statusCode).toBe(400);
    expect((await api('POST', `/upload-providers/${randomUUID()}/test`)).statusCode).toBe(404);
    expect((await api('POST', `/upload-policies/${policy.id}/test`)).statusCode).toBe(404);
    expect((await api('POST', `/upload-providers/${policy.id}/test`)).statusCode).toBe(404);
    expect([await ctl.db.settingsObject.count(), await ctl.db.settingsRevision.count()]).toEqual(before);

    const viewer = await userWithRole(ctl, 'upload-viewer', 'viewer');
    expect((await api('GET', '/upload-providers', undefined, viewer)).statusCode).toBe(200);
    expect((await api('POST', `/upload-providers/${provider.id}/test`, undefined, viewer)).statusCode).toBe(
      403,
    );
  });

  it('tests a filesystem provider: ok in a directory, ok: false with the reason when unusable', async () => {
    const good = await create('upload-providers', 'fs good', { kind: 'filesystem', root: dir.path });
    const answer = await api('POST', `/upload-providers/${good.id}/test`);
    expect(answer.statusCode, answer.body).toBe(200);
    const result = answer.json().data;
    expect(result).toMatchObject({ ok: true, location: dir.path });
    expect(result.steps.map((s: { step: string; ok: boolean }) => [s.step, s.ok])).toEqual([
      ['write', true],
      ['read', true],
      ['compare', true],
      ['delete', true],
    ]);
    expect(await readdir(dir.path)).not.toContainEqual(expect.stringMatching(/probe/));
    const audited = await ctl.db.auditEvent.findFirstOrThrow({
      where: { action: 'settings.upload_provider_test', targetId: good.id },
    });
    expect(audited.outcome).toBe('success');

    const notADirectory = join(dir.path, 'a-file');
    await writeFile(notADirectory, 'x');
    const readOnly = join(dir.path, 'read-only');
    await mkdir(readOnly);
    await chmod(readOnly, 0o500);
    const roots = [join(dir.path, 'does-not-exist'), notADirectory];
    // root ignores file modes: a read-only directory fails only for other users.
    if (process.getuid?.() !== 0) roots.push(readOnly);
    for (const root of roots) {
      const bad = await create('upload-providers', `fs bad ${root}`, { kind: 'filesystem', root });
      const failed = await api('POST', `/upload-providers/${bad.id}/test`);
      expect(failed.statusCode, failed.body).toBe(200);
      const data = failed.json().data;
      expect(data.ok).toBe(false);
      expect(data.steps).toEqual([expect.objectContaining({ step: 'write', ok: false })]);
      expect(data.steps[0].error).toContain(root);
      const event = await ctl.db.auditEvent.findFirstOrThrow({
        where: { action: 'settings.upload_provider_test', targetId: bad.id },
      });
      expect(event.outcome).toBe('failure');
      expect(event.reason).toMatch(/^write: /);
    }
  });

  it('tests an S3 provider against s3rver: ok with the right bucket, ok: false with a wrong one', async () => {
    const good = await create('upload-providers', 's3 good', s3Body());
    const answer = await api('POST', `/upload-providers/${good.id}/test`);
    expect(answer.statusCode, answer.body).toBe(200);
    expect(answer.json().data).toMatchObject({ ok: true, location: 's3://recordings/earshot/' });
    expect(answer.json().data.steps.every((s: { ok: boolean; ms: number }) => s.ok && s.ms >= 0)).toBe(true);

    const wrong = await create('upload-providers', 's3 wrong bucket', s3Body({ bucket: 'no-such-bucket' }));
    const failed = (await api('POST', `/upload-providers/${wrong.id}/test`)).json().data;
    expect(failed.ok).toBe(false);
    expect(failed.steps).toHaveLength(1);
    expect(failed.steps[0]).toMatchObject({ step: 'write', ok: false });
    expect(failed.steps[0].error).toMatch(/NoSuchBucket|bucket does not exist/);

    const closed = await create(
      'upload-providers',
      's3 nobody listening',
      s3Body({ endpoint: 'http://127.0.0.1:9' }),
    );
    const refused = (await api('POST', `/upload-providers/${closed.id}/test`)).json().data;
    expect(refused.ok).toBe(false);
    expect(refused.steps[0].error).toMatch(/ECONNREFUSED|connect/i);
  });

  it('seals the secret access key; shows it nowhere; keeps it on update; a rollback restores it', async () => {
    const box = new SecretBox(await loadOrCreateKeyFile(ctl.config.dataDir));
    const stored = async (id: string) => {
      const row = await ctl.db.settingsObject.findUniqueOrThrow({ where: { id } });
      return JSON.parse(row.body).secretAccessKey as string;
    };
    const open = (id: string, sealed: string) =>
      box.open(sealed, `settings:upload-providers:${id}:secretAccessKey`);

    const made = await create('upload-providers', 's3 secret', s3Body());
    expect(made.body).toMatchObject({
      secretAccessKey: null,
      secretAccessKeySet: true,
      accessKeyId: 'S3RVER',
    });
    const sealed1 = await stored(made.id);
    expect(sealed1).toMatch(SEALED);
    expect(open(made.id, sealed1)).toBe(SECRET_1);

    const kept = await api('PATCH', `/upload-providers/${made.id}`, { body: { prefix: 'elsewhere' } });
    expect(kept.json().data.body).toMatchObject({
      prefix: 'elsewhere',
      secretAccessKey: null,
      secretAccessKeySet: true,
    });
    expect(await stored(made.id)).toBe(sealed1);
    expect((await api('POST', `/upload-providers/${made.id}/test`)).json().data.ok).toBe(true);

    await api('PATCH', `/upload-providers/${made.id}`, { body: { secretAccessKey: SECRET_2 } });
    expect(open(made.id, await stored(made.id))).toBe(SECRET_2);
    const rolled = await api('POST', `/upload-providers/${made.id}/rollback`, { revision: 1 });
    expect(rolled.json().data).toMatchObject({
      revision: 4,
      body: { prefix: 'earshot/', secretAccessKeySet: true },
    });
    expect(await stored(made.id)).toBe(sealed1);
    expect(open(made.id, await stored(made.id))).toBe(SECRET_1);

    // Every view: detail, list, history, actions, exports (both formats, filtered and selected).
    for (const url of [
      `/upload-providers/${made.id}`,
      '/upload-providers',
      `/upload-providers/${made.id}/history`,
      `/upload-providers/${made.id}/actions`,
      '/upload-providers/export?format=csv',
      '/upload-providers/export?format=ndjson',
    ])
      expect((await api('GET', url)).statusCode).toBe(200);
    const csv = await api('GET', '/upload-providers/export?format=csv');
    expect(csv.body.split('\n')[0]).toContain('secretAccessKey,secretAccessKeySet');
    const selected = await api('POST', '/upload-providers/export', { ids: [made.id], format: 'ndjson' });
    expect(JSON.parse(selected.body.trim())).toMatchObject({
      body: { secretAccessKey: null, secretAccessKeySet: true },
    });
    const history = (await api('GET', `/upload-providers/${made.id}/history`)).json().data;
    for (const entry of history)
      expect(entry.after.body).toMatchObject({ secretAccessKey: null, secretAccessKeySet: true });

    const revisions = await ctl.db.settingsRevision.findMany({ where: { objectId: made.id } });
    const sealedValues = revisions.map((r) => JSON.parse(r.body).secretAccessKey as string);
    expect(new Set(sealedValues).size).toBe(2);
    const audit = JSON.stringify(await ctl.db.auditEvent.findMany());
    for (const text of [...answers, audit]) {
      for (const secret of [SECRET_1, SECRET_2, ...sealedValues]) expect(text).not.toContain(secret);
      expect(text).not.toMatch(SEALED);
    }
  });
});
