/**
 * The deploy kit's Prometheus rules (deploy/prometheus/earshot.rules.yml) and Grafana dashboard
 * (deploy/grafana/earshot.json) name only metrics the controller exports: a real controller,
 * after some activity (a node enrolled and heartbeating, an audit chain walk, HTTP requests), is
 * scraped the way deploy/README.md sets Prometheus up (a user holding only `metrics:read`, its
 * API token as the bearer), and every `earshot_*` name in a query must be in the exposition.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';

const DEPLOY = resolve(import.meta.dirname, '../../deploy');

/** Every PromQL query of the alert rules, by alert name. */
function ruleQueries(): [string, string][] {
  const rules = parse(readFileSync(resolve(DEPLOY, 'prometheus/earshot.rules.yml'), 'utf8')) as {
    groups: { rules: { alert?: string; record?: string; expr: string }[] }[];
  };
  return rules.groups.flatMap((g) =>
    g.rules.map((r) => [`rule ${r.alert ?? r.record}`, r.expr] as [string, string]),
  );
}

interface Panel {
  title: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** Every PromQL query of the dashboard's panels (rows included) and its query variables, by panel title. */
function dashboardQueries(): [string, string][] {
  const dashboard = JSON.parse(readFileSync(resolve(DEPLOY, 'grafana/earshot.json'), 'utf8')) as {
    panels: Panel[];
    templating: { list: { name: string; type: string; query?: unknown }[] };
  };
  const walk = (panels: Panel[]): [string, string][] =>
    panels.flatMap((p) => [
      ...(p.targets ?? []).flatMap((t) =>
        t.expr ? [[`panel "${p.title}"`, t.expr] as [string, string]] : [],
      ),
      ...walk(p.panels ?? []),
    ]);
  const variables = dashboard.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => [`variable ${v.name}`, JSON.stringify(v.query)] as [string, string]);
  return [...walk(dashboard.panels), ...variables];
}

/** The metric names an exposition declares (a histogram's series too). */
function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

describe('the deploy kit names only metrics the controller exports', () => {
  let ctl: TestController;
  let exposition: string;

  beforeAll(async () => {
    ctl = await testController();
    const owner = await ctl.ownerToken();
    const call = async (method: 'GET' | 'POST', url: string, token: string, payload?: object) => {
      const res = await ctl.app.inject({ method, url, headers: bearer(token), payload });
      expect(res.statusCode, res.body).toBeLessThan(300);
      return res.json().data;
    };
    // Some activity: a node that heartbeats, a walk of the audit chain.
    const node = await enrolledNode(ctl, { id: 'deploy-kit-1', site: 'hq', name: 'Hall A' });
    await call('POST', `/api/v1/nodes/${node.nodeId}/heartbeat`, node.credential, {
      agentVersion: '1.0.0',
      captureDevice: 'hw:1',
      captureState: 'capturing',
      diskFreeBytes: 10_000_000_000,
      headroomHours: 40,
      sentAtMs: Date.now(),
    });
    await call('GET', '/api/v1/audit-events/verify', owner);

    // Prometheus's user, as deploy/README.md creates it: a role with metrics:read only.
    await call('POST', '/api/v1/auth/roles', owner, {
      name: 'metrics-reader',
      permissions: ['metrics:read'],
    });
    await call('POST', '/api/v1/auth/users', owner, {
      username: 'prometheus',
      password: 'a long prometheus passphrase',
      grants: [{ role: 'metrics-reader', scope: { type: 'fleet' } }],
    });
    const login = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'prometheus', password: 'a long prometheus passphrase' },
    });
    const session = login.json().data.token as string;
    const { token } = await call('POST', '/api/v1/auth/api-tokens', session, { name: 'prometheus' });
    const scrape = await ctl.app.inject({ method: 'GET', url: '/metrics', headers: bearer(token) });
    expect(scrape.statusCode, scrape.body).toBe(200);
    exposition = scrape.body;
  });
  afterAll(async () => ctl.stop());

  it('carries the series the alert rules are about, with values', () => {
    expect(exposition).toMatch(/^earshot_node_online\{node="deploy-kit-1",name="Hall A"\} 1$/m);
    expect(exposition).toMatch(/^earshot_node_headroom_hours\{node="deploy-kit-1"\} 40$/m);
    expect(exposition).toMatch(/^earshot_audit_chain_broken 0$/m);
    expect(exposition).toMatch(/^earshot_occurrences_missed_total 0$/m);
    expect(exposition).toMatch(/^earshot_discord_bot_state\{state="disabled"\} 1$/m);
  });

  it.each([
    ['the alert rules', ruleQueries],
    ['the Grafana dashboard', dashboardQueries],
  ])('%s', (_what, queries) => {
    const found = queries();
    expect(found.length).toBeGreaterThan(0);
    const exported = exportedNames(exposition);
    const unknown = found.flatMap(([where, expr]) =>
      [...expr.matchAll(/\bearshot_[A-Za-z0-9_]+/g)]
        .map(([name]) => name)
        .filter((name) => !exported.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });
});
