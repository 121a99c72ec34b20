/**
 * Channel maps through the API: templates as a settings family (create, update, history,
 * rollback, rules, delete refused while assigned); assignments (set, replace, clear, history,
 * rollback, the template must fit the node's channels, bulk all-or-nothing); staged plans (diff,
 * atomic apply, a stale plan refused, discard, closed plans read-only); the agent's resolved map
 * with a real node credential and the recordings port; scope (a node outside the caller's scope
 * is a 404, a viewer's change a 403); bad input a 4xx; a node with an assignment still deletes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Method, requestAs } from '../support/api.js';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';

const QUAD = {
  inputChannels: 4,
  groups: [
    { name: 'front', channels: [1, 2] },
    { name: 'rear', channels: [4, 3], channelNames: ['rear-left', 'rear-right'] },
  ],
};
const MONO = { inputChannels: 1, groups: [{ name: 'voice', channels: [1] }] };

describe('channel maps', () => {
  let ctl: TestController;
  let owner: string;
  let quad: string;
  let mono: string;
  let agentA: { nodeId: string; credential: string };
  const api = (method: Method, url: string, payload?: object, token = owner) =>
    requestAs(ctl.app, token, method, `/api/v1/settings${url}`, payload);
  const assignment = async (nodeId: string) => ctl.db.channelMapAssignment.findUnique({ where: { nodeId } });

  async function node(id: string, site: string, channels: number) {
    const enrolled = await enrolledNode(ctl, { id, site });
    await ctl.db.node.update({ where: { id }, data: { channels } });
    return enrolled;
  }

  beforeAll(async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
    agentA = await node('cm-a', 'east', 4);
    await node('cm-b', 'east', 4);
    await node('cm-c', 'east', 2);
    await node('cm-west', 'west', 4);
    quad = (await api('POST', '/channel-map-templates', { name: 'quad', body: QUAD })).json().data.id;
    mono = (await api('POST', '/channel-map-templates', { name: 'mono', body: MONO })).json().data.id;
  });
  afterAll(async () => ctl.stop());

  describe('templates', () => {
    it('create, update, history, rollback through the settings family', async () => {
      const created = await api('POST', '/channel-map-templates', {
        name: 'stereo',
        body: { inputChannels: 2 },
      });
      expect(created.statusCode, created.body).toBe(201);
      const t = created.json().data;
      expect(t.body).toEqual({ inputChannels: 2, groups: [{ name: 'main', channels: [1, 2] }] });
      const updated = await api('PATCH', `/channel-map-templates/${t.id}`, {
        body: {
          groups: [
            { name: 'left', channels: [1] },
            { name: 'right', channels: [2] },
          ],
        },
      });
      expect(updated.statusCode, updated.body).toBe(200);
      const history = (await api('GET', `/channel-map-templates/${t.id}/history`)).json().data;
      expect(history.map((h: { action: string }) => h.action)).toEqual(['create', 'update']);
      const rolled = await api('POST', `/channel-map-templates/${t.id}/rollback`, { revision: 1 });
      expect(rolled.json().data).toMatchObject({ revision: 3, body: t.body });
      expect((await api('DELETE', `/channel-map-templates/${t.id}`)).statusCode).toBe(204);
    });

    it('refuses layouts the schema cannot catch, each named', async () => {
      const bad: [object, RegExp][] = [
        [
          { inputChannels: 2, groups: [{ name: 'a', channels: [1, 3] }] },
          /channel 3 is above inputChannels \(2\)/,
        ],
        [
          {
            inputChannels: 4,
            groups: [
              { name: 'a', channels: [1, 2] },
              { name: 'b', channels: [2, 3] },
            ],
          },
          /channel 2 is in two groups: "a" and "b"/,
        ],
        [{ inputChannels: 4, groups: [{ name: 'a', channels: [1, 1] }] }, /names channel 1 twice/],
        [
          {
            inputChannels: 4,
            groups: [
              { name: 'a', channels: [1] },
              { name: 'a', channels: [2] },
            ],
          },
          /named twice/,
        ],
        [
          { inputChannels: 4, groups: [{ name: 'a', channels: [1, 2], channelNames: ['x'] }] },
          /1 channelNames for 2/,
        ],
        [{ inputChannels: 4, groups: [{ name: 'Not A Slug', channels: [1] }] }, /name/],
        [{ inputChannels: 0, groups: [{ name: 'a', channels: [1] }] }, /inputChannels/],
      ];
      for (const [body, message] of bad) {
        const refused = await api('POST', '/channel-map-templates', { name: 'bad', body });
        expect(refused.statusCode, JSON.stringify(body)).toBe(400);
        expect(refused.json().error.message).toMatch(message);
      }
    });
  });

  describe('assignments', () => {
    it('set, replace, clear, history and rollback: each a revision, audited', async () => {
      const set = await api('PUT', '/channel-map-assignments/cm-a', { templateId: quad, reason: 'install' });
      expect(set.statusCode, set.body).toBe(200);
      expect(set.json().data).toMatchObject({
        nodeId: 'cm-a',
        template: { id: quad, name: 'quad' },
        interface: null,
        revision: 1,
      });
      const replaced = await api('PUT', '/channel-map-assignments/cm-a', {
        templateId: mono,
        interface: 'hw:1,0',
      });
      expect(replaced.json().data).toMatchObject({
        template: { id: mono },
        interface: 'hw:1,0',
        revision: 2,
      });
      const cleared = await api('DELETE', '/channel-map-assignments/cm-a');
      expect(cleared.statusCode).toBe(204);
      expect(cleared.body).toBe('');
      // Cleared: no longer listed; the clearing is revision 3 of its history.
      expect((await api('GET', '/channel-map-assignments?nodeId=cm-a')).json().data).toEqual([]);

      const history = (await api('GET', '/channel-map-assignments/cm-a/history')).json().data;
      expect(history.map((h: { action: string }) => h.action)).toEqual(['create', 'update', 'delete']);
      expect(history[2]).toMatchObject({ revision: 3, after: { templateId: null } });
      expect(history[0]).toMatchObject({ revision: 1, reason: 'install', before: null });
      expect(history[0].after).toEqual({ templateId: quad, interface: null });
      expect(history[1].before).toEqual({ templateId: quad, interface: null });
      expect(history[1].after).toEqual({ templateId: mono, interface: 'hw:1,0' });
      expect(history[2].after).toEqual({ templateId: null, interface: null });
      for (const entry of history) expect(entry.actor.name).toBe('owner');
      // Paged like every list: the second page's first entry starts from the first page's state.
      const page = (await api('GET', '/channel-map-assignments/cm-a/history?limit=2')).json();
      expect(page.data.map((h: { revision: number }) => h.revision)).toEqual([1, 2]);
      const rest = (
        await api('GET', `/channel-map-assignments/cm-a/history?cursor=${page.nextCursor}`)
      ).json();
      expect(rest).toMatchObject({ data: [{ revision: 3, before: history[1].after }], nextCursor: null });
      const never = (await api('GET', '/channel-map-assignments/cm-b/history')).json();
      expect(never).toEqual({ data: [], nextCursor: null });

      const rolled = await api('POST', '/channel-map-assignments/cm-a/rollback', { revision: 1 });
      expect(rolled.statusCode, rolled.body).toBe(200);
      expect(rolled.json().data).toMatchObject({ template: { id: quad }, revision: 4 });
      const after = (await api('GET', '/channel-map-assignments/cm-a/history')).json().data;
      expect(after[3]).toMatchObject({ action: 'rollback', reason: 'rollback to revision 1' });

      const events = await ctl.db.auditEvent.findMany({
        where: { targetId: 'cm-a', action: { startsWith: 'channel_map.assignment.' } },
        orderBy: { seq: 'asc' },
      });
      expect(events.map((e) => e.action)).toEqual([
        'channel_map.assignment.set',
        'channel_map.assignment.set',
        'channel_map.assignment.clear',
        'channel_map.assignment.rollback',
      ]);
      expect(JSON.parse(events[3]!.before!)).toEqual({ templateId: null, interface: null });

      const listed = (await api('GET', `/channel-map-assignments?templateId=${quad}`)).json().data;
      expect(listed.map((a: { nodeId: string }) => a.nodeId)).toEqual(['cm-a']);
    });

    it('numbers overlapping changes without a gap or a repeat; a change that lost the race is a 409', async () => {
      await node('cm-race', 'east', 4);
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          api('PUT', '/channel-map-assignments/cm-race', {
            templateId: i % 2 === 0 ? quad : mono,
            reason: `writer ${i}`,
          }),
        ),
      );
      const statuses = answers.map((a) => a.statusCode);
      expect(
        statuses.every((code) => code === 200 || code === 409),
        statuses.join(' '),
      ).toBe(true);
      const won = statuses.filter((code) => code === 200).length;
      expect(won).toBeGreaterThan(0);
      const history = (await api('GET', '/channel-map-assignments/cm-race/history')).json().data;
      expect(history.map((h: { revision: number }) => h.revision)).toEqual(
        Array.from({ length: won }, (_, i) => i + 1),
      );
      expect((await assignment('cm-race'))!.revision).toBe(won);
      for (const lost of answers.filter((a) => a.statusCode === 409))
        expect(lost.json().error.message).toMatch(/meanwhile/);
    });

    it('refuses a template needing more channels than the node captures, naming both', async () => {
      const refused = await api('PUT', '/channel-map-assignments/cm-c', { templateId: quad });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error.message).toMatch(
        /template "quad" needs 4 input channels, but node cm-c captures 2/,
      );
      expect(await assignment('cm-c')).toBeNull();
      const failed = await ctl.db.auditEvent.findFirstOrThrow({
        where: { action: 'channel_map.assignment.set', targetId: 'cm-c', outcome: 'failure' },
      });
      expect(failed.reason).toMatch(/needs 4 input channels/);
    });

    it('refuses to delete a template while a node uses it, or to make it need more channels', async () => {
      await api('PUT', '/channel-map-assignments/cm-a', { templateId: quad });
      const refused = await api('DELETE', `/channel-map-templates/${quad}`);
      expect(refused.statusCode).toBe(409);
      expect(refused.json().error.message).toMatch(/in use by node cm-a/);
      const wider = await api('PATCH', `/channel-map-templates/${quad}`, { body: { inputChannels: 8 } });
      expect(wider.statusCode).toBe(400);
      expect(wider.json().error.message).toMatch(/inputChannels 8 is more than node cm-a captures \(4\)/);
    });

    it('bulk: all or nothing, with a problem per item', async () => {
      const before = await ctl.db.settingsRevision.count();
      const refused = await api('POST', '/channel-map-assignments/bulk', {
        items: [
          { nodeId: 'cm-b', templateId: quad },
          { nodeId: 'cm-c', templateId: quad },
          { nodeId: 'cm-b', templateId: mono },
          { nodeId: 'cm-nope', templateId: mono },
        ],
      });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error.details.errors).toEqual([
        { index: 2, nodeId: 'cm-b', message: 'node cm-b is listed twice' },
        { index: 3, nodeId: 'cm-nope', message: 'node cm-nope not found' },
        { index: 1, nodeId: 'cm-c', message: expect.stringMatching(/needs 4 input channels/) },
      ]);
      expect(await assignment('cm-b')).toBeNull();
      expect(await ctl.db.settingsRevision.count()).toBe(before);

      const applied = await api('POST', '/channel-map-assignments/bulk', {
        items: [
          { nodeId: 'cm-b', templateId: quad },
          { nodeId: 'cm-c', templateId: mono },
        ],
        reason: 'rollout',
      });
      expect(applied.statusCode, applied.body).toBe(200);
      expect(
        applied.json().data.map((a: { nodeId: string; revision: number }) => [a.nodeId, a.revision]),
      ).toEqual([
        ['cm-b', 1],
        ['cm-c', 1],
      ]);
      expect((await assignment('cm-c'))?.templateId).toBe(mono);
    });
  });

  describe('staged plans', () => {
    it('stage shows a diff and applies nothing; apply changes every node at once', async () => {
      await api('PUT', '/channel-map-assignments/cm-a', { templateId: quad });
      await api('PUT', '/channel-map-assignments/cm-b', { templateId: quad });
      const revA = (await assignment('cm-a'))!.revision;
      const staged = await api('POST', '/channel-map-plans', {
        name: 'to mono',
        reason: 'testing',
        items: [
          { nodeId: 'cm-a', templateId: mono },
          { nodeId: 'cm-b', templateId: null },
        ],
      });
      expect(staged.statusCode, staged.body).toBe(201);
      const plan = staged.json().data;
      expect(plan).toMatchObject({ state: 'staged', name: 'to mono', closedAt: null });
      expect((await assignment('cm-a'))!.revision).toBe(revA);
      const detail = (await api('GET', `/channel-map-plans/${plan.id}`)).json().data;
      expect(detail.changes).toEqual([
        {
          nodeId: 'cm-a',
          nodeName: 'cm-a',
          before: { template: { id: quad, name: 'quad' }, interface: null },
          after: { template: { id: mono, name: 'mono' }, interface: null },
          changed: true,
          stale: false,
        },
        {
          nodeId: 'cm-b',
          nodeName: 'cm-b',
          before: { template: { id: quad, name: 'quad' }, interface: null },
          after: { template: null, interface: null },
          changed: true,
          stale: false,
        },
      ]);
      const listed = (await api('GET', '/channel-map-plans?state=staged')).json().data;
      expect(listed.map((p: { id: string }) => p.id)).toContain(plan.id);
      const actions = async () => (await api('GET', `/channel-map-plans/${plan.id}/actions`)).json().data;
      expect(await actions()).toEqual({
        apply: { allowed: true, reason: null },
        discard: { allowed: true, reason: null },
      });

      const applied = await api('POST', `/channel-map-plans/${plan.id}/apply`);
      expect(applied.statusCode, applied.body).toBe(200);
      expect(applied.json().data).toMatchObject({ state: 'applied', closedBy: expect.any(String) });
      expect((await assignment('cm-a'))!.templateId).toBe(mono);
      expect((await assignment('cm-b'))!.templateId).toBeNull();
      const history = (await api('GET', '/channel-map-assignments/cm-a/history')).json().data;
      expect(history.at(-1).reason).toBe('channel-map plan "to mono"');
      // Kept, read-only, its diff as staged.
      const kept = (await api('GET', `/channel-map-plans/${plan.id}`)).json().data;
      expect(kept.changes[0].before.template.id).toBe(quad);
      expect((await api('POST', `/channel-map-plans/${plan.id}/apply`)).statusCode).toBe(409);
      expect((await api('POST', `/channel-map-plans/${plan.id}/discard`)).statusCode).toBe(409);
      expect(await actions()).toEqual({
        apply: { allowed: false, reason: 'The plan was already applied.' },
        discard: { allowed: false, reason: 'The plan was already applied.' },
      });
      expect(
        await ctl.db.auditEvent.count({
          where: { action: 'channel_map.plan.apply', targetId: plan.id, outcome: 'success' },
        }),
      ).toBe(1);
    });

    it('refuses a stale plan and applies none of it', async () => {
      await api('PUT', '/channel-map-assignments/cm-a', { templateId: quad });
      await api('PUT', '/channel-map-assignments/cm-b', { templateId: quad });
      const plan = (
        await api('POST', '/channel-map-plans', {
          name: 'stale',
          items: [
            { nodeId: 'cm-a', templateId: mono },
            { nodeId: 'cm-b', templateId: mono },
          ],
        })
      ).json().data;
      await api('PUT', '/channel-map-assignments/cm-b', { templateId: quad, interface: 'hw:2,0' });
      expect((await api('GET', `/channel-map-plans/${plan.id}`)).json().data.changes[1].stale).toBe(true);
      const actions = (await api('GET', `/channel-map-plans/${plan.id}/actions`)).json().data;
      expect(actions.apply).toEqual({ allowed: false, reason: expect.stringMatching(/^Stale: .*node cm-b/) });
      expect(actions.discard).toEqual({ allowed: true, reason: null });
      const refused = await api('POST', `/channel-map-plans/${plan.id}/apply`);
      expect(refused.statusCode).toBe(409);
      expect(refused.json().error.message).toMatch(/stale.*node cm-b changed since the plan was staged/);
      const failed = await ctl.db.auditEvent.findMany({
        where: { action: 'channel_map.plan.apply', targetId: plan.id, outcome: 'failure' },
      });
      expect(failed.map((e) => e.reason)).toEqual([refused.json().error.message]);
      expect((await assignment('cm-a'))!.templateId).toBe(quad);
      expect((await assignment('cm-b'))!.templateId).toBe(quad);

      const discarded = await api('POST', `/channel-map-plans/${plan.id}/discard`);
      expect(discarded.json().data.state).toBe('discarded');
      expect((await api('POST', `/channel-map-plans/${plan.id}/apply`)).statusCode).toBe(409);
    });

    it('says a plan cannot be applied once a template no longer fits its node, as apply would answer', async () => {
      await node('cm-shrinking', 'east', 4);
      const plan = (
        await api('POST', '/channel-map-plans', {
          name: 'quad on a shrinking node',
          items: [{ nodeId: 'cm-shrinking', templateId: quad }],
        })
      ).json().data;
      const actions = async () => (await api('GET', `/channel-map-plans/${plan.id}/actions`)).json().data;
      expect((await actions()).apply).toEqual({ allowed: true, reason: null });
      // The node now reports two channels: the quad template needs four.
      await ctl.db.node.update({ where: { id: 'cm-shrinking' }, data: { channels: 2 } });
      const { apply } = await actions();
      expect(apply).toEqual({
        allowed: false,
        reason: expect.stringMatching(/needs 4 input channels.*captures 2/),
      });
      const refused = await api('POST', `/channel-map-plans/${plan.id}/apply`);
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error.message).toContain('needs 4 input channels');
    });

    it('refuses to delete a template a staged plan would assign', async () => {
      const t = (await api('POST', '/channel-map-templates', { name: 'planned', body: MONO })).json().data.id;
      await api('POST', '/channel-map-plans', {
        name: 'uses planned',
        items: [{ nodeId: 'cm-c', templateId: t }],
      });
      const refused = await api('DELETE', `/channel-map-templates/${t}`);
      expect(refused.statusCode).toBe(409);
      expect(refused.json().error.message).toMatch(/staged channel-map plan uses planned/);
    });
  });

  describe('the agent and recordings', () => {
    it('the node reads its resolved map with its own credential, and no other node’s', async () => {
      await api('PUT', '/channel-map-assignments/cm-a', { templateId: quad, interface: 'hw:1,0' });
      const template = await ctl.db.settingsObject.findUniqueOrThrow({ where: { id: quad } });
      const read = await ctl.app.inject({
        method: 'GET',
        url: '/api/v1/nodes/cm-a/channel-map-assignments',
        headers: bearer(agentA.credential),
      });
      expect(read.statusCode, read.body).toBe(200);
      expect(read.json().data).toEqual({
        template: { id: quad, name: 'quad', revision: template.revision },
        interface: 'hw:1,0',
        groups: [
          { name: 'front', channels: [1, 2], channelNames: null },
          { name: 'rear', channels: [4, 3], channelNames: ['rear-left', 'rear-right'] },
        ],
      });
      const other = await ctl.app.inject({
        method: 'GET',
        url: '/api/v1/nodes/cm-b/channel-map-assignments',
        headers: bearer(agentA.credential),
      });
      expect(other.statusCode).toBe(404);
      const asUser = await ctl.app.inject({
        method: 'GET',
        url: '/api/v1/nodes/cm-a/channel-map-assignments',
        headers: bearer(owner),
      });
      expect(asUser.statusCode).toBe(403);

      expect(await ctl.services.channelMaps.groupsFor('cm-a')).toEqual({
        templateId: quad,
        groups: [
          { name: 'front', channels: [1, 2] },
          { name: 'rear', channels: [4, 3] },
        ],
      });
      await api('DELETE', '/channel-map-assignments/cm-a');
      expect(await ctl.services.channelMaps.groupsFor('cm-a')).toBeNull();
      expect(await ctl.services.channelMaps.groupsFor('cm-unknown')).toBeNull();
    });
  });

  describe('scope and bad input', () => {
    it('a node outside the caller’s scope is a 404; a viewer’s change a 403', async () => {
      const east = await ctl.db.site.findUniqueOrThrow({ where: { name: 'east' } });
      const eastOwner = await userWithRole(ctl, 'cm-east-owner', 'owner', { type: 'site', id: east.id });
      await api('PUT', '/channel-map-assignments/cm-west', { templateId: quad });
      const westPlan = (
        await api('POST', '/channel-map-plans', {
          name: 'west',
          items: [{ nodeId: 'cm-west', templateId: mono }],
        })
      ).json().data.id;
      const calls: [Method, string, object?][] = [
        ['PUT', '/channel-map-assignments/cm-west', { templateId: mono }],
        ['DELETE', '/channel-map-assignments/cm-west'],
        ['GET', '/channel-map-assignments/cm-west/history'],
        ['POST', '/channel-map-assignments/cm-west/rollback', { revision: 1 }],
        ['POST', '/channel-map-assignments/bulk', { items: [{ nodeId: 'cm-west', templateId: mono }] }],
        ['POST', '/channel-map-plans', { name: 'x', items: [{ nodeId: 'cm-west', templateId: mono }] }],
        ['GET', `/channel-map-plans/${westPlan}`],
        ['POST', `/channel-map-plans/${westPlan}/apply`],
        ['POST', `/channel-map-plans/${westPlan}/discard`],
      ];
      for (const [method, url, body] of calls) {
        const response = await api(method, url, body, eastOwner);
        expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(404);
      }
      const listed = (await api('GET', '/channel-map-assignments', undefined, eastOwner)).json().data;
      expect(listed.map((a: { nodeId: string }) => a.nodeId)).not.toContain('cm-west');
      const plans = (await api('GET', '/channel-map-plans', undefined, eastOwner)).json().data;
      expect(plans.map((p: { id: string }) => p.id)).not.toContain(westPlan);
      expect((await assignment('cm-west'))!.templateId).toBe(quad);

      const viewer = await userWithRole(ctl, 'cm-viewer', 'viewer');
      expect((await api('GET', '/channel-map-assignments', undefined, viewer)).statusCode).toBe(200);
      expect(
        (await api('PUT', '/channel-map-assignments/cm-a', { templateId: quad }, viewer)).statusCode,
      ).toBe(403);
    });

    it('bad input on every route is a 4xx and changes nothing', async () => {
      const before = await ctl.db.settingsRevision.count();
      const calls: [Method, string, object | undefined, number][] = [
        ['PUT', '/channel-map-assignments/cm-a', { templateId: 'not-a-uuid' }, 400],
        ['PUT', '/channel-map-assignments/cm-a', {}, 400],
        ['PUT', '/channel-map-assignments/cm-a', { templateId: quad, extra: 1 }, 400],
        ['PUT', '/channel-map-assignments/cm-a', { templateId: '00000000-0000-4000-8000-000000000009' }, 400],
        ['PUT', '/channel-map-assignments/no-such-node', { templateId: quad }, 404],
        ['PUT', '/channel-map-assignments/Bad Id!', { templateId: quad }, 400],
        ['DELETE', '/channel-map-assignments/no-such-node', undefined, 404],
        ['POST', '/channel-map-assignments/bulk', { items: [] }, 400],
        ['POST', '/channel-map-assignments/bulk', {}, 400],
        ['GET', '/channel-map-assignments/no-such-node/history', undefined, 404],
        ['POST', '/channel-map-assignments/cm-a/rollback', { revision: 0 }, 400],
        ['POST', '/channel-map-assignments/cm-a/rollback', { revision: 999 }, 400],
        ['POST', '/channel-map-assignments/cm-c/rollback', { revision: 1 }, 400],
        ['GET', '/channel-map-assignments?templateId=nope', undefined, 400],
        ['GET', '/channel-map-assignments?cursor=%%%', undefined, 400],
        ['POST', '/channel-map-plans', { name: 'empty', items: [] }, 400],
        ['POST', '/channel-map-plans', { items: [{ nodeId: 'cm-a', templateId: quad }] }, 400],
        [
          'POST',
          '/channel-map-plans',
          { name: 'too big', items: [{ nodeId: 'cm-c', templateId: quad }] },
          400,
        ],
        ['GET', '/channel-map-plans?state=done', undefined, 400],
        ['GET', '/channel-map-plans/not-a-uuid', undefined, 400],
        ['GET', '/channel-map-plans/00000000-0000-4000-8000-000000000009', undefined, 404],
        ['POST', '/channel-map-plans/00000000-0000-4000-8000-000000000009/apply', undefined, 404],
        ['POST', '/channel-map-plans/00000000-0000-4000-8000-000000000009/discard', undefined, 404],
      ];
      for (const [method, url, body, status] of calls) {
        const response = await api(method, url, body);
        expect(response.statusCode, `${method} ${url} ${JSON.stringify(body)}: ${response.body}`).toBe(
          status,
        );
      }
      expect(await ctl.db.settingsRevision.count()).toBe(before);
    });

    it('a decommissioned node with an assignment and a plan still deletes', async () => {
      await node('cm-gone', 'east', 2);
      await api('PUT', '/channel-map-assignments/cm-gone', { templateId: mono });
      await api('POST', '/channel-map-plans', {
        name: 'gone',
        items: [{ nodeId: 'cm-gone', templateId: null }],
      });
      const headers = bearer(owner);
      await ctl.app.inject({ method: 'POST', url: '/api/v1/nodes/cm-gone/decommission', headers });
      const removed = await ctl.app.inject({ method: 'DELETE', url: '/api/v1/nodes/cm-gone', headers });
      expect(removed.statusCode, removed.body).toBe(204);
      expect(await assignment('cm-gone')).toBeNull();
    });
  });
});
