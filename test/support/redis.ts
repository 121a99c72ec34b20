// A throwaway Redis for tests: `redis-server` on a free loopback port, nothing saved to disk
// (no RDB, no AOF), its working directory a temp dir. Needs Debian's `redis-server` package
// (scripts/system-deps.sh installs it). Starts in well under a second.
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from './ports.js';
import { tempDir } from './tmp.js';

export interface RunningRedis {
  /** redis://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Answers PING with PONG: the server accepts commands. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1_000);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    for (const event of ['error', 'timeout'] as const)
      socket.once(event, () => {
        socket.destroy();
        resolve(false);
      });
  });
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

export async function startRedis(): Promise<RunningRedis> {
  const dir = await tempDir('redis');
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const child = spawn('redis-server', [...args, '--dir', dir.path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
    const failed = new Promise<Error>((resolve) => {
      child.once('error', (err) =>
        resolve(new Error(`redis-server could not start (${err.message}); run: bash scripts/system-deps.sh`)),
      );
      child.once('exit', (code) => resolve(new Error(`redis-server exited ${code}: ${output}`)));
    });
    let ready = false;
    const deadline = Date.now() + 10_000;
    while (!ready && Date.now() < deadline && child.exitCode === null) {
      ready = await pong(port);
      if (!ready) await Promise.race([failed, new Promise((r) => setTimeout(r, 50))]);
    }
    if (!ready) {
      child.kill('SIGKILL');
      const error = await Promise.race([failed, Promise.resolve(undefined)]);
      if (error?.message.includes('system-deps')) throw error;
      continue; // most likely the port was taken meanwhile
    }
    running.add(child);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const c of running) c.kill('SIGKILL');
      });
    }
    let stopped: Promise<void> | undefined;
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      stop: () => {
        stopped ??= (async () => {
          if (child.exitCode === null && child.signalCode === null) {
            const exited = new Promise((r) => child.once('exit', r));
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
            await exited;
            clearTimeout(timer);
          }
          running.delete(child);
          await dir.cleanup();
        })();
        return stopped;
      },
    };
  }
  await dir.cleanup();
  throw new Error('could not start redis-server on a free port');
}
