/**
 * Topic isolation checked with an MQTT implementation that is not ours: the
 * mosquitto command-line clients (Debian mosquitto-clients) as real processes against
 * the embedded broker, authenticated as real enrolled nodes.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { nodeTopic } from '../../shared/src/mqtt.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';

const CLIENTS_INSTALLED = spawnSync('mosquitto_sub', ['--help']).error === undefined;

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Running {
  child: ChildProcess;
  stdout: () => string;
  finished: Promise<Finished>;
}

/** Starts a process, collecting its output from the first byte. */
function start(command: string, args: string[]): Running {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const finished = new Promise<Finished>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, stdout: () => stdout, finished };
}

/** Payload lines only (with -d, mosquitto_sub mixes its debug lines into stdout). */
const payloads = (stdout: string) => stdout.split('\n').filter((line) => line.startsWith('{'));

describe.skipIf(!CLIENTS_INSTALLED && !process.env.CI)('MQTT isolation with mosquitto clients', () => {
  let ctl: TestController;
  let server: string[];
  let a: { nodeId: string; credential: string };
  let b: { nodeId: string; credential: string };
  const running: Running[] = [];

  const as = (node: { nodeId: string; credential: string }) => ['-u', node.nodeId, '-P', node.credential];
  const pub = (args: string[]) => start('mosquitto_pub', [...server, ...args]).finished;
  const sub = (args: string[]) => start('mosquitto_sub', [...server, ...args]).finished;

  /** A subscriber that says when its SUBACK arrived (stdbuf: its debug lines are not flushed otherwise). */
  async function subscribed(args: string[]): Promise<Running> {
    const proc = start('stdbuf', ['-oL', 'mosquitto_sub', ...server, '-d', ...args]);
    running.push(proc);
    await vi.waitFor(
      () => {
        if (proc.child.exitCode !== null) throw new Error(`mosquitto_sub exited: ${proc.stdout()}`);
        expect(proc.stdout()).toContain('received SUBACK');
      },
      { timeout: 10_000, interval: 50 },
    );
    return proc;
  }

  beforeAll(async () => {
    if (!CLIENTS_INSTALLED)
      throw new Error('mosquitto_pub / mosquitto_sub not found: apt-get install mosquitto-clients');
    ctl = await testController({ mqttHost: '127.0.0.1' });
    await ctl.start();
    server = ['-h', '127.0.0.1', '-p', String(ctl.broker.port()), '-V', 'mqttv311'];
    a = await enrolledNode(ctl, { id: 'iso-a', site: 'north' });
    b = await enrolledNode(ctl, { id: 'iso-b', site: 'south' });
  });

  afterAll(async () => {
    for (const proc of running) proc.child.kill();
    await ctl?.stop();
  });

  it('refuses a wrong credential, another node’s credential, and no credential', async () => {
    const topic = nodeTopic(a.nodeId, 'cmd');
    const wrong = await sub(['-u', a.nodeId, '-P', `${a.nodeId}.${'x'.repeat(43)}`, '-t', topic, '-C', '1']);
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toContain('bad user name or password');

    const borrowed = await sub(['-u', a.nodeId, '-P', b.credential, '-t', topic, '-C', '1']);
    expect(borrowed.code).toBe(4);

    const anonymousSub = await sub(['-t', topic, '-C', '1']);
    expect(anonymousSub.code).toBe(4);
    const anonymousPub = await pub([
      '-t',
      nodeTopic(a.nodeId, 'status'),
      '-q',
      '1',
      '-m',
      '{"state":"online"}',
    ]);
    expect(anonymousPub.code).toBe(4);
    expect(anonymousPub.stderr).toContain('refused');
  });

  it('refuses subscriptions to another node’s commands and wildcard filters', async () => {
    for (const filter of [nodeTopic(b.nodeId, 'cmd'), 'earshot/v1/nodes/+/cmd', '#']) {
      const result = await sub([...as(a), '-t', filter, '-C', '1', '-W', '3']);
      expect(result.stderr, filter).toContain('All subscription requests were denied');
      expect(result.stdout, filter).toBe('');
    }
  });

  it('delivers a node its own commands', async () => {
    const own = await subscribed([
      ...as(a),
      '-t',
      nodeTopic(a.nodeId, 'cmd'),
      '-q',
      '1',
      '-C',
      '1',
      '-W',
      '20',
    ]);
    await ctl.broker.publishToNode(a.nodeId, 'cmd', { id: 'mine', type: 'config-changed' });
    const result = await own.finished;
    expect(result.code).toBe(0);
    expect(payloads(result.stdout).map((p) => JSON.parse(p).id)).toEqual(['mine']);
  });

  it('drops a publish into another node’s subtree; the other node never sees it', async () => {
    const victim = await subscribed([
      ...as(b),
      '-t',
      nodeTopic(b.nodeId, 'cmd'),
      '-q',
      '1',
      '-C',
      '1',
      '-W',
      '20',
    ]);

    // QoS 1: the broker closes the forger's connection instead of acknowledging.
    const forged = await pub([
      ...as(a),
      '-t',
      nodeTopic(b.nodeId, 'cmd'),
      '-q',
      '1',
      '-m',
      JSON.stringify({ id: 'forged', type: 'lifecycle', args: { action: 'restart' } }),
    ]);
    expect(forged.code).not.toBe(0);
    expect(forged.stderr).toContain('connection was lost');

    // QoS 0 has no acknowledgement to withhold; the message must still go nowhere.
    const forgedMeters = await pub([
      ...as(a),
      '-t',
      nodeTopic(b.nodeId, 'meters'),
      '-m',
      JSON.stringify({
        seq: 1,
        capturedAtMs: Date.now(),
        windowMs: 100,
        sampleRate: 48_000,
        channels: [{ peakDbfs: -1, rmsDbfs: -3, clipCount: 0 }],
      }),
    ]);
    expect(forgedMeters.code).toBe(0);

    // The victim's first message is the controller's genuine command.
    await ctl.broker.publishToNode(b.nodeId, 'cmd', { id: 'genuine', type: 'job-available' });
    const seen = await victim.finished;
    expect(seen.code).toBe(0);
    expect(payloads(seen.stdout).map((p) => JSON.parse(p).id)).toEqual(['genuine']);

    const meters = await ctl.app.inject({
      method: 'GET',
      url: `/api/v1/nodes/${b.nodeId}/meters`,
      headers: bearer(await ctl.ownerToken()),
    });
    expect(meters.json().data.frame).toBeNull();
  });

  it('times out a subscriber when only another node publishes to it', async () => {
    const victim = await subscribed([...as(b), '-t', nodeTopic(b.nodeId, 'cmd'), '-C', '1', '-W', '3']);
    const forged = await pub([
      ...as(a),
      '-t',
      nodeTopic(b.nodeId, 'cmd'),
      '-m',
      '{"id":"x","type":"lifecycle"}',
    ]);
    expect(forged.code).toBe(0); // QoS 0: mosquitto_pub cannot tell
    const result = await victim.finished;
    expect(result.code).toBe(27); // mosquitto_sub: timed out (-W) with nothing received
    expect(payloads(result.stdout)).toEqual([]);
  });
});
