/**
 * The Prometheus part of the deploy kit (deploy/prometheus): the scrape configuration and the
 * alert rules pass promtool's checks, and the rules' unit tests (deploy/prometheus/tests/*.yml)
 * pass `promtool test rules`, each alert made to fire on synthetic series and kept quiet on
 * healthy ones. A failure shows promtool's own output. Whether every metric the rules name is
 * exported is test/integration/deploy-metrics.test.ts (it scrapes a real controller).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type TempDir, tempDir } from '../support/tmp.js';

const DIR = resolve(import.meta.dirname, '../../deploy/prometheus');
const RULES = join(DIR, 'earshot.rules.yml');
const TESTS = join(DIR, 'tests');

/** promtool's exit code and everything it printed. */
function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile('promtool', args, { cwd: DIR }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      const missing =
        error?.code === 'ENOENT'
          ? ' (promtool is in Debian package prometheus: bash scripts/system-deps.sh)'
          : '';
      done({ code, output: `${stdout}${stderr}${code === -1 ? `${error!.message}${missing}` : ''}` });
    });
  });
}

interface RuleTestFile {
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

const testFiles = readdirSync(TESTS)
  .filter((name) => name.endsWith('.yml'))
  .map((name) => join(TESTS, name));

describe('deploy/prometheus', () => {
  it('has alert rules promtool accepts', async () => {
    const { code, output } = await promtool('check', 'rules', RULES);
    expect(code, output).toBe(0);
  });

  describe('prometheus.yml', () => {
    let tmp: TempDir;
    beforeAll(async () => {
      tmp = await tempDir('prometheus-config');
    });
    afterAll(() => tmp.cleanup());

    it('is a configuration promtool accepts, with the rules it names and a bearer token from a file', async () => {
      const text = readFileSync(join(DIR, 'prometheus.yml'), 'utf8');
      const config = parse(text) as {
        rule_files: string[];
        scrape_configs: { job_name: string; metrics_path?: string; authorization?: Record<string, string> }[];
      };
      expect(config.rule_files).toEqual(['earshot.rules.yml']);
      const controller = config.scrape_configs.find((c) => c.job_name === 'earshot-controller');
      expect(controller?.metrics_path).toBe('/metrics');
      // /metrics wants a metrics:read token; never inline in the file.
      expect(controller?.authorization).toEqual({ type: 'Bearer', credentials_file: expect.any(String) });

      // promtool also opens the credentials file: check a copy that points at a token of ours.
      const token = join(tmp.path, 'token');
      writeFileSync(token, 'earshot.example-token\n', { mode: 0o600 });
      writeFileSync(
        join(tmp.path, 'prometheus.yml'),
        text.replace(controller!.authorization!.credentials_file!, token),
      );
      copyFileSync(RULES, join(tmp.path, 'earshot.rules.yml'));
      const { code, output } = await promtool('check', 'config', join(tmp.path, 'prometheus.yml'));
      expect(code, output).toBe(0);
    });
  });

  it('passes its rule unit tests (promtool test rules)', async () => {
    expect(testFiles.length).toBeGreaterThan(0);
    const { code, output } = await promtool('test', 'rules', ...testFiles);
    expect(code, output).toBe(0);
  });

  it('tests every alert both firing and quiet', () => {
    const rules = parse(readFileSync(RULES, 'utf8')) as { groups: { rules: { alert?: string }[] }[] };
    const alerts = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
    expect(alerts.length).toBeGreaterThan(0);
    const checks = testFiles.flatMap((file) =>
      (parse(readFileSync(file, 'utf8')) as RuleTestFile).tests.flatMap((t) => t.alert_rule_test ?? []),
    );
    const untested = alerts.flatMap((alert) => {
      const mine = checks.filter((c) => c.alertname === alert);
      const fires = mine.some((c) => (c.exp_alerts ?? []).length > 0);
      const quiet = mine.some((c) => (c.exp_alerts ?? []).length === 0);
      return fires && quiet ? [] : [`${alert}: ${fires ? '' : 'never fires '}${quiet ? '' : 'never quiet'}`];
    });
    expect(untested).toEqual([]);
    // And no test names an alert the rules do not have (promtool would just expect nothing of it).
    expect(checks.map((c) => c.alertname).filter((name) => !alerts.includes(name))).toEqual([]);
  });
});
