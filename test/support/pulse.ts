// A real-time virtual capture device for tests, so capture runs without a sound card:
// a private PulseAudio daemon with a null sink, a known tone played into
// it in a loop, and the environment that makes sox capture its monitor.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { access, chmod, constants, mkdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './tmp.js';

const run = promisify(execFile);

export const PULSE_BINARIES = ['pulseaudio', 'pactl', 'paplay', 'sox'] as const;
export const PULSE_INSTALL_HINT = 'apt-get install -y sox libsox-fmt-all pulseaudio pulseaudio-utils';

async function onPath(binary: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      await access(join(dir, binary), constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}

/** The PulseAudio/sox binaries that are missing from PATH (empty when all are there). */
export async function missingPulseBinaries(): Promise<string[]> {
  const found = await Promise.all(PULSE_BINARIES.map(onPath));
  return PULSE_BINARIES.filter((_, i) => !found[i]);
}

/**
 * Whether audio tests can run. Outside CI a missing binary means "skip"; in CI
 * (process.env.CI set) it throws, so a broken CI image cannot pass by skipping.
 */
export async function hasPulse(): Promise<boolean> {
  const missing = await missingPulseBinaries();
  if (missing.length === 0) return true;
  if (process.env.CI) {
    throw new Error(`audio tests need ${missing.join(', ')} in CI (${PULSE_INSTALL_HINT})`);
  }
  return false;
}

export interface SineOptions {
  hz?: number;
  peakDbfs?: number;
  seconds?: number;
  sampleRate?: number;
  channels?: number;
}

/** Writes a 16-bit sine WAV whose sample peak is `peakDbfs` (sox convention, undithered). */
export async function generateSineWav(path: string, options: SineOptions = {}): Promise<void> {
  const { hz = 1000, peakDbfs = -20, seconds = 30, sampleRate = 48_000, channels = 2 } = options;
  await run(
    'sox',
    ['-D', '-n', '-r', `${sampleRate}`, '-c', `${channels}`, '-b', '16', path].concat([
      'synth',
      `${seconds}`,
      'sine',
      `${hz}`,
      'gain',
      `${peakDbfs}`,
    ]),
  );
}

export interface PulseSink {
  /** Env for the capturing process: PULSE_SERVER, XDG_RUNTIME_DIR, AUDIODRIVER, AUDIODEV… */
  env: Record<string, string>;
  sinkName: string;
  /** The source to capture (`<sink>.monitor`). */
  monitor: string;
  /** The WAV being played in a loop. */
  tonePath: string;
  /**
   * Plays another tone from now on (e.g. `peakDbfs: 3` clips: sox clips what passes full scale),
   * or nothing at all (`null`: the monitor delivers digital silence). Resolves once switched.
   */
  play(tone: SineOptions | null): Promise<void>;
  /**
   * Stops this sink's daemon (SIGTERM by its PID): the device goes away under whoever captures
   * from it. Only this sink's daemon: every sink has its own runtime dir and socket.
   */
  stopDaemon(): Promise<void>;
  /** Starts the daemon again, on the same socket with the same sink; the tone plays again. */
  startDaemon(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Points captures started from this process at the sink (sox, spawned by node-record-lpcm16,
 * copies this process's environment); returns the undo, which restores what was there before.
 */
export function useSinkEnv(sink: Pick<PulseSink, 'env'>): () => void {
  const saved = Object.fromEntries(Object.keys(sink.env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, sink.env);
  return () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}

export interface PulseSinkOptions extends SineOptions {
  sinkName?: string;
  /**
   * The sink's channel map (PulseAudio names, comma-separated); default PulseAudio's for the
   * channel count. A capture asking another map for the same channels gets them remixed.
   */
  channelMap?: string;
}

/** Starts a private daemon with a null sink and plays a sine into it in a loop. */
export async function startPulseSink(options: PulseSinkOptions = {}): Promise<PulseSink> {
  const sinkName = options.sinkName ?? 'earshot_test';
  const sampleRate = options.sampleRate ?? 48_000;
  const channels = options.channels ?? 2;
  const dir = await tempDir('pulse');
  const home = join(dir.path, 'home');
  const runtimeDir = join(dir.path, 'run');
  await mkdir(home, { mode: 0o700 });
  await mkdir(runtimeDir, { mode: 0o700 });
  await chmod(runtimeDir, 0o700); // pulseaudio refuses a runtime dir others can read
  const socket = join(dir.path, 'native.sock');
  const env: Record<string, string> = {
    XDG_RUNTIME_DIR: runtimeDir,
    PULSE_SERVER: `unix:${socket}`,
    // Without this a record stream's first data arrives after the sink's 2 s latency.
    PULSE_LATENCY_MSEC: '30',
    AUDIODRIVER: 'pulseaudio',
    AUDIODEV: `${sinkName}.monitor`,
  };
  const childEnv = { ...process.env, ...env, HOME: home };

  let daemonLog = '';
  const spawnDaemon = (): ChildProcess => {
    const started = spawn(
      'pulseaudio',
      [
        '--daemonize=no',
        '--exit-idle-time=-1',
        '-n',
        `--load=module-null-sink sink_name=${sinkName} rate=${sampleRate} channels=${channels}${options.channelMap ? ` channel_map=${options.channelMap}` : ''}`,
        `--load=module-native-protocol-unix auth-anonymous=1 socket=${socket}`,
        '--log-target=stderr',
      ],
      { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    started.stderr?.on('data', (chunk: Buffer) => {
      daemonLog = (daemonLog + chunk.toString('utf8')).slice(-4000);
    });
    return started;
  };
  let daemon = spawnDaemon();
  let player: ChildProcess | undefined;
  let stopping = false;
  /** Bumped by a tone switch: a player of an older generation is not restarted. */
  let generation = 0;

  const stop = async (): Promise<void> => {
    stopping = true;
    await killAndWait(player);
    await killAndWait(daemon);
    await dir.cleanup();
  };

  try {
    await waitForDaemon(daemon, childEnv, () => daemonLog);
    const tonePath = join(dir.path, 'tone.wav');
    await generateSineWav(tonePath, { ...options, sampleRate, channels });
    const play = (gen = generation): void => {
      if (stopping || gen !== generation) return;
      const current = spawn('paplay', ['--latency-msec=20', '-d', sinkName, tonePath], {
        env: childEnv,
        stdio: 'ignore',
      });
      player = current;
      // Loop the tone; the short pause keeps a failing paplay from spinning.
      current.on('exit', () => setTimeout(() => play(gen), 50));
    };
    play();
    const switchTone = async (tone: SineOptions | null): Promise<void> => {
      generation++;
      await killAndWait(player);
      if (tone === null) return;
      await generateSineWav(tonePath, { ...options, sampleRate, channels, ...tone });
      play();
    };
    const stopDaemon = async (): Promise<void> => {
      await killAndWait(daemon);
    };
    const startDaemon = async (): Promise<void> => {
      if (daemon.exitCode === null && daemon.signalCode === null) return; // running
      daemon = spawnDaemon();
      await waitForDaemon(daemon, childEnv, () => daemonLog);
    };
    return {
      env,
      sinkName,
      monitor: env.AUDIODEV!,
      tonePath,
      play: switchTone,
      stopDaemon,
      startDaemon,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitForDaemon(daemon: ChildProcess, env: NodeJS.ProcessEnv, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (daemon.exitCode !== null || daemon.signalCode !== null) {
      throw new Error(`pulseaudio exited (${daemon.exitCode ?? daemon.signalCode}): ${log()}`);
    }
    try {
      await run('pactl', ['info'], { env, timeout: 2000 });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`pulseaudio did not come up: ${String(error)}\n${log()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** SIGTERM by PID, SIGKILL if it lingers; resolves once the process has exited. */
async function killAndWait(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (name: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
        process.kill(child.pid, name);
    } catch {} // already gone
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}
