/**
 * What the agent's meters cost: 8 channels at 48 kHz from a PulseAudio null sink, with every
 * measure (sample peak, RMS, clips, true peak, momentary and short-term loudness), against sox
 * alone capturing the same in the same run.
 *
 *   - reference: sox, with the agent's own arguments (sox-recorder.cjs), its output discarded;
 *   - subject: the agent's capture in a process of its own (this file, forked): Capture (its sox)
 *     feeding a MeterAccumulator, under plain node with the options the agent's systemd unit
 *     gives it. Reported: that process's CPU (without its sox) and RSS, and its CPU with its sox,
 *     each against sox alone.
 *
 * CPU is read from /proc (each thread's scheduler run time) over the same window after a
 * warm-up; RSS is VmRSS read every second of that window, the median reported (it saw-tooths with
 * the spent PCM buffers each scavenge frees). Goal (issue 13): the agent at most 1.5× sox alone,
 * RSS under 80 MB.
 *
 * The warm-up is 12 s: the agent runs for days, and its first seconds are not its steady cost
 * (module compilation, and the heap's memory reducer, which runs two full collections about 8 s
 * after start: with a 2 s warm-up they fell in the window and added ~0.2 % of a core).
 *
 * On the 2-core dev box (shared, noisy), 8 ch, 20 s windows, 3 runs each, before and after the
 * chunked meters (d21f5c6), sox's wider buffers (2aab792) and the agent unit's small young
 * generation: the agent 2.7–2.8 → 1.1–1.3 % of a core, sox alone 0.8–0.9 → 0.5–0.6 % (it gains
 * from the wider buffers too), so 3.0–3.4× → 1.8–2.4×; RSS 76–77 → 70–72 MB.
 * Then the meters in WebAssembly SIMD (loudness-kernel.wat: one pass for all channels, K-weighting
 * two channels at a time in double precision, true peak four at a time in single): the meters'
 * own CPU for 10 s of 8-channel audio 95 → 24–40 ms (in-process), the kernel 0.17 % of a core in
 * a profile of the capture process. The bench, 12 s warm-up, 10–20 s windows, same day, same
 * machine: before (JS meters) the agent 1.2–1.4 % against sox 0.7–0.9 % = 1.4–2.0×; after
 * 1.0–1.3 % against 0.8–0.9 % = 1.1–1.6× (median of six 1.3×); RSS 64–68 MB. What is left is
 * node itself: the same process reading the pipe without metering costs 1.0 % (13 wake-ups a
 * second for sox's 40 ms buffers; on this VM an idle node woken 14 times a second costs 0.5 %).
 * Env: EARSHOT_BENCH_CAPTURE_SECONDS (20), EARSHOT_BENCH_CAPTURE_WARMUP_SECONDS (12),
 * EARSHOT_BENCH_CAPTURE_CHANNELS (8), EARSHOT_BENCH_CAPTURE_PROFILE (a directory: the agent's
 * process writes a CPU profile there, node --cpu-prof).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Capture } from '../../agent/src/capture/capture.js';
import { MeterAccumulator } from '../../agent/src/capture/meter.js';
import { startPulseSink } from '../support/pulse.js';
import type { BenchRow } from './report.js';

/**
 * sox's PulseAudio driver opens at most 6 channels (it asks PulseAudio for its default channel
 * map, which stops at 5.1: "can not open audio device: Invalid argument"), so above 6 both sox
 * processes capture through ALSA's PulseAudio plugin (Debian libasound2-plugins: AUDIODRIVER=alsa,
 * AUDIODEV=pulse, PULSE_SOURCE naming the monitor), whose channel map the sink is given, as a
 * device with an 8-channel ALSA driver is opened.
 */
const CHANNELS = Number(process.env.EARSHOT_BENCH_CAPTURE_CHANNELS || 8);
const PULSE_MAX_CHANNELS = 6;
const ALSA_8_CHANNEL_MAP =
  'front-left,front-right,rear-left,rear-right,front-center,lfe,side-left,side-right';
const RATE = 48_000;
const SECONDS = Number(process.env.EARSHOT_BENCH_CAPTURE_SECONDS || 20);
const WARMUP_MS = Number(process.env.EARSHOT_BENCH_CAPTURE_WARMUP_SECONDS || 12) * 1000;
const CHILD_ENV = 'EARSHOT_BENCH_CAPTURE_CHILD';
const TICKS_PER_SECOND = 100; // Linux USER_HZ

/**
 * CPU seconds `pid` has used: the run time the scheduler counts for each of its threads, in ns
 * (/proc/<pid>/task/<tid>/schedstat; a thread that ends meanwhile takes its time with it), or,
 * without schedstat, utime + stime, in ticks of 10 ms (a few ticks a second of sox alone: too
 * coarse for a ratio over 10 s).
 */
function cpuSeconds(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`))
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    if (ns > 0) return ns / 1e9;
  } catch {}
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** CPU (% of one core) of each pid over SECONDS, after the warm-up; the median RSS (MB) of the first. */
async function cpuOver(pids: number[]): Promise<{ cpu: number[]; rss: number }> {
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const before = pids.map(cpuSeconds);
  const started = performance.now();
  const rss: number[] = [];
  for (let s = 0; s < SECONDS; s++) {
    await new Promise((r) => setTimeout(r, 1000));
    rss.push(rssMb(pids[0]!));
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    cpu: pids.map((pid, i) => ((cpuSeconds(pid) - before[i]!) / seconds) * 100),
    rss: rss.sort((a, b) => a - b)[Math.floor(rss.length / 2)]!,
  };
}

function soxArgs(): string[] {
  const recorder = createRequire(import.meta.url)('../../agent/src/capture/sox-recorder.cjs') as (
    options: object,
  ) => { args: string[] };
  return recorder({ sampleRate: RATE, channels: CHANNELS, bitDepth: 16, audioType: 'raw' }).args;
}

/** The forked side: the agent's capture and meters, until told to stop. */
function runChild(): void {
  const capture = new Capture({ device: process.env.AUDIODEV, sampleRate: RATE, channels: CHANNELS });
  const meter = new MeterAccumulator({ sampleRate: RATE, channels: CHANNELS });
  let frames = 0;
  capture.on('data', (chunk) => {
    frames += meter.push(chunk).length;
  });
  const send = (message: object) => {
    if (process.connected) process.send?.(message);
  };
  capture.on('error', (error) => send({ type: 'error', message: error.message }));
  capture.start();
  process.on('message', async () => {
    await capture.stop();
    send({ type: 'stopped', frames });
    process.disconnect();
  });
}

const DIST = fileURLToPath(new URL('../../dist/agent/src/capture/', import.meta.url));
/** The node options the agent runs with on a device (its systemd unit's ExecStart). */
const AGENT_NODE_OPTIONS = (() => {
  const unit = readFileSync(
    fileURLToPath(new URL('../../deploy/earshot-agent.service', import.meta.url)),
    'utf8',
  );
  const execStart = /^ExecStart=\S+\s+(.*?)\s*\S+\/cli\.js run$/m.exec(unit);
  if (!execStart) throw new Error('no ExecStart=node … cli.js run in deploy/earshot-agent.service');
  return execStart[1]!.split(/\s+/).filter(Boolean);
})();
const BUILT_METER = `${DIST}meter.js`;

/** runChild, as a script over the built agent (dist/, from `npm run build`). */
function builtChildScript(): string {
  return `
    import { Capture } from ${JSON.stringify(`${DIST}capture.js`)};
    import { MeterAccumulator } from ${JSON.stringify(BUILT_METER)};
    const capture = new Capture({ device: process.env.AUDIODEV, sampleRate: ${RATE}, channels: ${CHANNELS} });
    const meter = new MeterAccumulator({ sampleRate: ${RATE}, channels: ${CHANNELS} });
    let frames = 0;
    const send = (m) => { if (process.connected) process.send(m); };
    capture.on('data', (chunk) => { frames += meter.push(chunk).length; });
    capture.on('error', (error) => send({ type: 'error', message: error.message }));
    capture.start();
    process.on('message', async () => { await capture.stop(); send({ type: 'stopped', frames }); process.disconnect(); });
  `;
}

function soxChildOf(pid: number): number | undefined {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
  return children[0] ? Number(children[0]) : undefined;
}

export async function captureCostBench(): Promise<BenchRow[]> {
  const viaAlsa = CHANNELS > PULSE_MAX_CHANNELS;
  const sink = await startPulseSink({
    sampleRate: RATE,
    channels: CHANNELS,
    sinkName: 'cost',
    peakDbfs: -12,
    ...(viaAlsa && CHANNELS === 8 ? { channelMap: ALSA_8_CHANNEL_MAP } : {}),
  });
  const env = {
    ...process.env,
    ...sink.env,
    ...(viaAlsa ? { AUDIODRIVER: 'alsa', AUDIODEV: 'pulse', PULSE_SOURCE: sink.monitor } : {}),
  };
  try {
    // Reference: sox alone.
    const sox = spawn('sox', soxArgs(), { env, stdio: ['ignore', 'ignore', 'ignore'] });
    const {
      cpu: [soxCpu],
    } = await cpuOver([sox.pid!]);
    sox.kill('SIGTERM');
    await new Promise((r) => sox.once('close', r));

    // Subject: the agent's capture and meters in a process of its own: the built agent (plain
    // node, as it runs on a device) when there is one, else this file under the tsx loader
    // (whose compiler then counts in the RSS).
    const built = existsSync(BUILT_METER);
    const profileDir = process.env.EARSHOT_BENCH_CAPTURE_PROFILE;
    const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const child: ChildProcess = built
      ? spawn(
          process.execPath,
          [...AGENT_NODE_OPTIONS, ...profile, '--input-type=module', '-e', builtChildScript()],
          {
            env,
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          },
        )
      : fork(fileURLToPath(import.meta.url), [], {
          execArgv: [...process.execArgv, ...profile],
          env: { ...env, [CHILD_ENV]: '1' },
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
    let failure: string | undefined;
    child.on('message', (m: { type: string; message?: string }) => {
      if (m.type === 'error') failure ??= m.message;
    });
    let childSox: number | undefined;
    for (let waited = 0; !childSox && waited < 10_000; waited += 250) {
      await new Promise((r) => setTimeout(r, 250));
      childSox = soxChildOf(child.pid!);
    }
    if (!childSox) throw new Error('the capture process started no sox within 10 s');
    const {
      cpu: [agentCpu, agentSoxCpu],
      rss,
    } = await cpuOver([child.pid!, childSox]);
    const stopped = new Promise<{ frames: number }>((resolve) =>
      child.on('message', (m: { type: string; frames: number }) => m.type === 'stopped' && resolve(m)),
    );
    child.send('stop');
    const { frames } = await stopped;
    if (failure) throw new Error(`capture failed: ${failure}`);
    const subject = `${CHANNELS} ch × ${RATE / 1000} kHz${viaAlsa ? ' (ALSA pulse plugin)' : ''}, all measures`;
    const options = built && AGENT_NODE_OPTIONS.length > 0 ? ` (node ${AGENT_NODE_OPTIONS.join(' ')})` : '';
    const reference = { subject: 'sox alone, same capture', value: soxCpu! };
    console.error(
      `  capture-cost: sox alone ${soxCpu!.toFixed(1)} %; agent ${agentCpu!.toFixed(1)} % + its sox ` +
        `${agentSoxCpu!.toFixed(1)} %; RSS ${rss.toFixed(0)} MB; ${frames} meter frames`,
    );
    return [
      {
        bench: 'capture-cost',
        subject: `agent process (meters), ${subject}`,
        metric: 'CPU',
        value: agentCpu!,
        unit: '% of a core',
        reference: { ...reference, ratio: agentCpu! / soxCpu! },
      },
      {
        bench: 'capture-cost',
        subject: `agent process + its sox, ${subject}`,
        metric: 'CPU',
        value: agentCpu! + agentSoxCpu!,
        unit: '% of a core',
        reference: { ...reference, ratio: (agentCpu! + agentSoxCpu!) / soxCpu! },
      },
      {
        bench: 'capture-cost',
        subject: `agent process${built ? ` (built${options})` : ' (tsx loader)'}, ${subject}`,
        metric: 'RSS',
        value: rss,
        unit: 'MB',
      },
    ];
  } finally {
    await sink.stop();
  }
}

if (process.env[CHILD_ENV] === '1' && process.send) runChild();
