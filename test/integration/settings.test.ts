/**
 * Settings families through the API: for each built-in family create, update, history with
 * both revisions (actor, time, before/after), rollback to the first as revision 3, delete;
 * a family whose in-use check finds users (a real lookup of nodes) refuses the delete with a
 * 409 naming them; duplicate names, bad input that writes nothing, and a viewer refused.
 */
import Type from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingsFamily } from '../../controller/src/modules/settings/index.js';
import { requestAs } from '../support/api.js';
import { enrolledNode, type TestController, testController, userWithRole } from '../support/controller.js';
import { SETTINGS_FAMILY_NAMES } from '../support/settings-families.js';

/** A test family whose objects are used by the nodes they list (looked up in the database). */
const widgets = settingsFamily({
  name: 'test-widgets',
  title: 'test widget',
  body: Type.Object({ nodes: Type.Array(Type.String({ maxLength: 64 })) }, { additionalProperties: false }),
  defaults: { nodes: [] },
  inUse: async (object, db) => {
    const nodes = await db.node.findMany({
      where: { id: { in: object.body.nodes } },
      orderBy: { id: 'asc' },
    });
    return nodes.map((n) => ({ type: 'node', id: n.id, name: n.name }));
  },
});

/** An upload provider id that names no provider (providers are tested in settings-uploads.test.ts). */
const PROVIDER = '00000000-0000-4000-8000-000000000001';

interface Case {
  family: string;
  create: Record<string, unknown>;
  update: Record<string, unknown>;
  bad: { body: Record<string, unknown>; message: RegExp }[];
}

const CASES: Case[] = [
  {
    family: 'recording-profiles',
    create: { container: 'flac', sampleRate: 48000, bitDepth: 16, channels: 2, preRollSeconds: 5 },
    update: { container: 'wav', segmentSeconds: 3600, bitDepth: 24 },
    bad: [
      { body: { channels: 2, channelMap: [1, 2] }, message: /channels or channelMap, not both/ },
      { body: { channelMap: [3, 3] }, message: /names channel 3 twice/ },
      { body: { sampleRate: 12345 }, message: /sampleRate/ },
      { body: { segmentSeconds: 10 }, message: /segmentSeconds/ },
      { body: { bitDepth: 32 }, message: /bitDepth/ },
    ],
  },
  {
    family: 'watchdog-policies',
    create: { silenceDbfs: -50, silenceSeconds: 20 },
    update: { diskLowPercent: 15, clockSkewSeconds: 0.5 },
    bad: [
      { body: { silenceDbfs: 3 }, message: /silenceDbfs/ },
      { body: { clipWindowSeconds: 0 }, message: /clipWindowSeconds/ },
    ],
  },
  {
    family: 'retention-policies',
    create: { scope: 'agent-cache', maxAgeDays: null, maxBytes: 10_000_000_000 },
    update: { minFreeDiskPercent: 10, keepTagged: false },
    bad: [
      {
        body: { maxAgeDays: null, maxBytes: null, minFreeDiskPercent: null },
        message: /at least one limit/,
      },
      {
        body: { deleteOnlyAfterVerifiedUploadTo: [PROVIDER, PROVIDER] },
        message: /names "[0-9a-f-]+" twice/,
      },
      { body: { deleteOnlyAfterVerifiedUploadTo: ['s3-main'] }, message: /deleteOnlyAfterVerifiedUploadTo/ },
      { body: { scope: 'everywhere' }, message: /scope/ },
    ],
  },
];

describe('settings families', () => {
  let ctl: TestController;
  let owner: string;
  const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, token = owner) =>
    requestAs(ctl.app, token, method, `/api/v1/settings${url}`, payload);
  const counts = async () => [await ctl.db.settingsObject.count(), await ctl.db.settingsRevision.count()];

  beforeAll(async () => {
    ctl = await testController({}, undefined, { settingsFamilies: [widgets] });
    owner = await ctl.ownerToken();
  });
  afterAll(async () => ctl.stop());

  it('lists the families (built-in and added), each with its secret fields, and nothing that is not one', async () => {
    const index = await api('GET', '');
    expect(index.statusCode, index.body).toBe(200);
    const families = index.json().data as { name: string; label: string; secretFields: string[] }[];
    expect(families.map((f) => f.name)).toEqual([...SETTINGS_FAMILY_NAMES, 'test-widgets']);
    expect(families.find((f) => f.name === 'recording-profiles')).toEqual({
      name: 'recording-profiles',
      title: 'recording profile',
      label: 'Recording profiles',
      secretFields: [],
    });
    expect(families.find((f) => f.name === 'upload-providers')?.secretFields.length).toBeGreaterThan(0);
    // Channel-map assignments and plans live under /settings but are not families.
    expect(families.some((f) => f.name.startsWith('channel-map-a') || f.name.endsWith('plans'))).toBe(false);
  });

  for (const c of CASES) {
    describe(c.family, () => {
      it('create, update, history, rollback to the first as revision 3, delete', async () => {
        const created = await api('POST', `/${c.family}`, { name: `${c.family} A`, body: c.create });
        expect(created.statusCode, created.body).toBe(201);
        const first = created.json().data;
        expect(first).toMatchObject({ family: c.family, revision: 1, body: c.create });

        const updated = await api('PATCH', `/${c.family}/${first.id}`, { body: c.update, reason: 'tuning' });
        expect(updated.statusCode, updated.body).toBe(200);
        expect(updated.json().data).toMatchObject({ revision: 2, body: { ...first.body, ...c.update } });

        const history = (await api('GET', `/${c.family}/${first.id}/history`)).json().data;
        expect(history).toHaveLength(2);
        expect(history[0]).toMatchObject({ revision: 1, action: 'create', before: null });
        expect(history[0].after.body).toEqual(first.body);
        expect(history[1]).toMatchObject({ revision: 2, action: 'update', reason: 'tuning' });
        expect(history[1].before.body).toEqual(first.body);
        expect(history[1].after.body).toEqual(updated.json().data.body);
        for (const entry of history) {
          expect(entry.actor.name).toBe('owner');
          expect(Date.now() - Date.parse(entry.at)).toBeLessThan(60_000);
        }

        const rolled = await api('POST', `/${c.family}/${first.id}/rollback`, { revision: 1 });
        expect(rolled.statusCode, rolled.body).toBe(200);
        expect(rolled.json().data).toMatchObject({ revision: 3, body: first.body });
        const after = (await api('GET', `/${c.family}/${first.id}/history`)).json().data;
        expect(after[2]).toMatchObject({ revision: 3, action: 'rollback', reason: 'rollback to revision 1' });
        const audited = await ctl.db.auditEvent.findFirstOrThrow({
          where: { action: 'settings.rollback', targetId: first.id },
        });
        expect(JSON.parse(audited.before!).body).toEqual(updated.json().data.body);
        expect(JSON.parse(audited.after!).body).toEqual(first.body);

        const actions = (await api('GET', `/${c.family}/${first.id}/actions`)).json().data;
        expect(actions).toEqual({
          update: { allowed: true, reason: null },
          delete: { allowed: true, reason: null },
          rollback: { allowed: true, reason: null },
        });
        const listed = (await api('GET', `/${c.family}?q=${encodeURIComponent('A')}`)).json();
        expect(listed.data.map((o: { id: string }) => o.id)).toContain(first.id);
        const csv = await api('GET', `/${c.family}/export?format=csv`);
        expect(csv.statusCode).toBe(200);
        expect(csv.body.split('\n')[0]).toMatch(/^id,name,revision,/);
        const selected = await api('POST', `/${c.family}/export`, { ids: [first.id], format: 'ndjson' });
        expect(selected.headers['content-type']).toMatch(/x-ndjson/);
        const lines = selected.body
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        expect(lines).toEqual([expect.objectContaining({ id: first.id, revision: 3, body: first.body })]);
        expect(await ctl.db.auditEvent.count({ where: { action: 'settings.export' } })).toBeGreaterThan(0);

        expect((await api('DELETE', `/${c.family}/${first.id}`)).statusCode).toBe(204);
        expect((await api('GET', `/${c.family}/${first.id}`)).statusCode).toBe(404);
        const kept = await ctl.db.settingsRevision.findMany({ where: { objectId: first.id } });
        expect(kept.map((r) => r.action)).toEqual(['create', 'update', 'rollback', 'delete']);
      });

      it('refuses a duplicate name with a 409', async () => {
        expect((await api('POST', `/${c.family}`, { name: `${c.family} dup` })).statusCode).toBe(201);
        const again = await api('POST', `/${c.family}`, { name: `${c.family} dup` });
        expect(again.statusCode).toBe(409);
        expect(again.json().error.message).toMatch(/already exists/);
      });

      it('refuses bad input with a 400 and writes nothing', async () => {
        const made = (await api('POST', `/${c.family}`, { name: `${c.family} bad` })).json().data;
        const before = await counts();
        for (const bad of c.bad) {
          const create = await api('POST', `/${c.family}`, { name: `${c.family} worse`, body: bad.body });
          expect(create.statusCode, create.body).toBe(400);
          expect(create.json().error.message).toMatch(bad.message);
          const patch = await api('PATCH', `/${c.family}/${made.id}`, { body: bad.body });
          expect(patch.statusCode, patch.body).toBe(400);
        }
        for (const body of [{}, { name: '' }, { name: 'x', body: { nope: 1 } }]) {
          expect((await api('POST', `/${c.family}`, body)).statusCode).toBe(400);
        }
        expect((await api('PATCH', `/${c.family}/${made.id}`, {})).statusCode).toBe(400);
        expect((await api('POST', `/${c.family}/${made.id}/rollback`, { revision: 1 })).statusCode).toBe(404);
        expect((await api('POST', `/${c.family}/${made.id}/rollback`, { revision: 0 })).statusCode).toBe(400);
        expect((await api('GET', `/${c.family}/not-a-uuid`)).statusCode).toBe(400);
        expect(await counts()).toEqual(before);
        expect((await api('GET', `/${c.family}/${made.id}`)).json().data.revision).toBe(1);
      });

      it('refuses a viewer’s change with a 403 and one denied audit event', async () => {
        const viewer = await userWithRole(ctl, `viewer-${c.family}`, 'viewer');
        expect((await api('GET', `/${c.family}`, undefined, viewer)).statusCode).toBe(200);
        const seq = (await ctl.db.auditEvent.aggregate({ _max: { seq: true } }))._max.seq ?? 0;
        const refused = await api('POST', `/${c.family}`, { name: 'by a viewer' }, viewer);
        expect(refused.statusCode).toBe(403);
        const events = await ctl.db.auditEvent.findMany({ where: { seq: { gt: seq } } });
        expect(events.filter((e) => e.outcome === 'denied')).toHaveLength(1);
        expect(await ctl.db.settingsObject.count({ where: { name: 'by a viewer' } })).toBe(0);
      });
    });
  }

  it('refuses to delete an object in use with a 409 naming its users', async () => {
    const node = await enrolledNode(ctl, { id: 'widget-user', site: 'hq' });
    const created = await api('POST', '/test-widgets', { name: 'used', body: { nodes: [node.nodeId] } });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().data.id;
    const refused = await api('DELETE', `/test-widgets/${id}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.message).toMatch(/in use by node widget-user/);
    expect(refused.json().error.details.users).toEqual([
      { type: 'node', id: node.nodeId, name: 'widget-user' },
    ]);
    const actions = (await api('GET', `/test-widgets/${id}/actions`)).json().data;
    expect(actions.delete).toEqual({ allowed: false, reason: 'in use by node widget-user' });
    expect((await api('GET', `/test-widgets/${id}`)).statusCode).toBe(200);
    const failure = await ctl.db.auditEvent.findFirstOrThrow({
      where: { action: 'settings.delete', targetId: id, outcome: 'failure' },
    });
    expect(failure.reason).toMatch(/in use/);

    expect((await api('PATCH', `/test-widgets/${id}`, { body: { nodes: [] } })).statusCode).toBe(200);
    expect((await api('DELETE', `/test-widgets/${id}`)).statusCode).toBe(204);
  });

  it('numbers overlapping changes without a gap or a repeat; a change that lost the race is a 409', async () => {
    const created = await api('POST', '/watchdog-policies', {
      name: 'contended',
      body: { silenceSeconds: 10 },
    });
    const id = created.json().data.id as string;
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        api('PATCH', `/watchdog-policies/${id}`, { body: { silenceSeconds: 11 + i }, reason: `writer ${i}` }),
      ),
    );
    const statuses = answers.map((a) => a.statusCode);
    expect(
      statuses.every((code) => code === 200 || code === 409),
      statuses.join(' '),
    ).toBe(true);
    const won = statuses.filter((code) => code === 200).length;
    expect(won).toBeGreaterThan(0);
    const history = (await api('GET', `/watchdog-policies/${id}/history`)).json().data as {
      revision: number;
    }[];
    expect(history.map((h) => h.revision)).toEqual(Array.from({ length: 1 + won }, (_, i) => i + 1));
    expect((await api('GET', `/watchdog-policies/${id}`)).json().data.revision).toBe(1 + won);
    for (const lost of answers.filter((a) => a.statusCode === 409))
      expect(lost.json().error.message).toMatch(/meanwhile|again/i);
  });

  it('pages a long history oldest first, each page starting from the state the previous ended on', async () => {
    const created = await api('POST', '/watchdog-policies', {
      name: 'long-lived',
      body: { silenceSeconds: 10 },
    });
    const id = created.json().data.id as string;
    for (let i = 1; i <= 60; i++)
      expect(
        (await api('PATCH', `/watchdog-policies/${id}`, { body: { silenceSeconds: 10 + i } })).statusCode,
      ).toBe(200);
    type Entry = { revision: number; before: { body: { silenceSeconds: number } } | null; after: unknown };
    const first = (await api('GET', `/watchdog-policies/${id}/history`)).json() as {
      data: Entry[];
      nextCursor: string | null;
    };
    expect(first.data.map((e) => e.revision)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = (await api('GET', `/watchdog-policies/${id}/history?cursor=${first.nextCursor}`)).json();
    expect(second.data.map((e: Entry) => e.revision)).toEqual(Array.from({ length: 11 }, (_, i) => 51 + i));
    expect(second.nextCursor).toBeNull();
    // The page's first entry says what it changed from: the previous page's last state.
    expect(second.data[0].before).toEqual(first.data[49]!.after);
    expect(second.data[0].before.body.silenceSeconds).toBe(59);

    const one = (await api('GET', `/watchdog-policies/${id}/history?limit=1`)).json();
    expect(one.data).toHaveLength(1);
    const next = (
      await api('GET', `/watchdog-policies/${id}/history?limit=1&cursor=${one.nextCursor}`)
    ).json();
    expect(next.data[0]).toMatchObject({ revision: 2, before: one.data[0].after });
    // Not a cursor, or a number no revision column holds (PostgreSQL's Int): a 400 naming the fix.
    for (const cursor of [
      'nonsense',
      ...[9e15, -1, 2 ** 31].map((n) => Buffer.from(String(n)).toString('base64url')),
    ]) {
      const bad = await api('GET', `/watchdog-policies/${id}/history?cursor=${cursor}`);
      expect(bad.statusCode, cursor).toBe(400);
      expect(bad.json().error.message).toMatch(/nextCursor/);
    }
  });

  it('gives each family its own, named OpenAPI entries', async () => {
    const doc = (await ctl.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const family of ['recording-profiles', 'watchdog-policies', 'retention-policies']) {
      const path = doc.paths[`/api/v1/settings/${family}/{id}/rollback`];
      expect(path.post.summary).toMatch(
        new RegExp(family.replace(/ies$/, 'y').replace(/s$/, '').replace('-', ' ')),
      );
    }
  });
});
