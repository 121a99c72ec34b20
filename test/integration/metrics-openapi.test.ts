import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type TestController, testController, userWithRole } from '../support/controller.js';

function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
    child.stdin.end(text);
  });
}

describe('/metrics', () => {
  let ctl: TestController;
  let apiToken: string;
  beforeAll(async () => {
    ctl = await testController();
    const session = await ctl.ownerToken();
    const created = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/api-tokens',
      headers: bearer(session),
      payload: { name: 'prometheus' },
    });
    apiToken = created.json().data.token;
  });
  afterAll(async () => ctl.stop());

  it('needs metrics:read', async () => {
    expect((await ctl.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    const auditor = await userWithRole(ctl, 'auditor-1', 'auditor');
    expect(
      (await ctl.app.inject({ method: 'GET', url: '/metrics', headers: bearer(auditor) })).statusCode,
    ).toBe(403);
  });

  it('passes promtool check metrics and carries our series', async () => {
    await ctl.app.inject({ method: 'GET', url: '/healthz' });
    const response = await ctl.app.inject({ method: 'GET', url: '/metrics', headers: bearer(apiToken) });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    for (const name of [
      'earshot_http_requests_total',
      'earshot_mqtt_clients',
      'earshot_meter_frames_total',
      'earshot_recording_jobs',
      'earshot_upload_bytes_total',
      'earshot_upload_direct_bytes_total',
      'earshot_nodes_online',
    ]) {
      expect(response.body).toContain(`# TYPE ${name}`);
    }
    const { code, output } = await promtoolCheck(response.body);
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it('can be opened to anonymous scrapers by an explicit setting', async () => {
    const open = await testController({ metricsAllowAnonymous: true });
    expect((await open.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
    await open.stop();
  });
});

describe('OpenAPI', () => {
  let ctl: TestController;
  beforeAll(async () => {
    ctl = await testController();
  });
  afterAll(async () => ctl.stop());

  it('documents every API route, in JSON and YAML', async () => {
    const json = await ctl.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(json.statusCode).toBe(200);
    const doc = json.json() as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\./);
    for (const route of ctl.routes.filter((r) => r.url.startsWith('/api/'))) {
      const path = route.url.replace(/:([A-Za-z]+)/g, '{$1}');
      expect(doc.paths[path]?.[route.method.toLowerCase()], `${route.method} ${route.url}`).toBeDefined();
    }
    const yaml = await ctl.app.inject({ method: 'GET', url: '/openapi.yaml' });
    expect(yaml.headers['content-type']).toContain('yaml');
    expect(yaml.body).toContain('openapi: 3.');
  });
});
