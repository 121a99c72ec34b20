/**
 * The capture devices (audio interfaces) this machine has, with their channel counts, by a
 * stable reference the controller reconciles on: PulseAudio sources (`pactl list sources`, or
 * the locale-independent `pactl list short sources` when the long form cannot be read), else
 * ALSA capture devices (`arecord -l`, referenced as `hw:CARD=<id>,DEV=<n>`, which survives card
 * renumbering; channels from /proc/asound for USB devices), else just the configured device.
 * The parsers are pure, so they are tested on captured command output.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { ReportedInterface } from '../../../shared/src/agent-api.js';

const MAX_TEXT = 256;
const clip = (text: string): string => text.slice(0, MAX_TEXT);

/** `s16le 2ch 48000Hz` → channels and rate (undefined when it does not read so). */
export function parseSampleSpec(spec: string): { channels: number; sampleRate: number } | undefined {
  const m = /(\d+)ch\s+(\d+)Hz/.exec(spec);
  if (!m) return undefined;
  const channels = Number(m[1]);
  const sampleRate = Number(m[2]);
  if (channels < 1 || channels > 64) return undefined;
  return { channels, sampleRate };
}

function pulseSource(name: string, description: string, spec: string): ReportedInterface | undefined {
  const facts = parseSampleSpec(spec);
  if (!name || !facts) return undefined;
  const sampleRate = facts.sampleRate >= 1000 && facts.sampleRate <= 384_000 ? facts.sampleRate : null;
  return {
    ref: clip(name),
    kind: 'pulse',
    description: clip(description),
    channels: facts.channels,
    sampleRate,
  };
}

/** `pactl list sources` (English labels): one device per `Source #n` block. */
export function parsePactlSources(text: string): ReportedInterface[] {
  const out: ReportedInterface[] = [];
  for (const block of text.split(/^Source #\d+\s*$/m).slice(1)) {
    const field = (label: string) =>
      new RegExp(`^\\s*${label}:[ \\t]*(.*)$`, 'm').exec(block)?.[1]?.trim() ?? '';
    const source = pulseSource(field('Name'), field('Description'), field('Sample Specification'));
    if (source) out.push(source);
  }
  return out;
}

/** `pactl list short sources`: index, name, driver, sample spec, state; tab-separated. */
export function parsePactlShortSources(text: string): ReportedInterface[] {
  const out: ReportedInterface[] = [];
  for (const line of text.split('\n')) {
    const [, name, driver, spec] = line.split('\t');
    const source = name && spec ? pulseSource(name.trim(), driver?.trim() ?? '', spec) : undefined;
    if (source) out.push(source);
  }
  return out;
}

export interface AlsaCaptureDevice {
  card: number;
  cardId: string;
  device: number;
  description: string;
}

/** `arecord -l`: `card 1: U192k [UMC404HD 192k], device 0: USB Audio [USB Audio]`. */
export function parseArecordList(text: string): AlsaCaptureDevice[] {
  const out: AlsaCaptureDevice[] = [];
  const line = /^card (\d+): (\S+) \[(.*?)\], device (\d+): (.*?) \[(.*?)\]\s*$/gm;
  for (const m of text.matchAll(line)) {
    out.push({
      card: Number(m[1]),
      cardId: m[2]!,
      device: Number(m[4]),
      description: m[3] === m[6] ? m[3]! : `${m[3]}: ${m[6]}`,
    });
  }
  return out;
}

/** /proc/asound/card<N>/stream<D> (USB audio): the largest `Channels:` of the Capture section. */
export function parseProcStreamChannels(text: string): number | undefined {
  const capture = text.split(/^Capture:\s*$/m)[1]?.split(/^Playback:\s*$/m)[0];
  if (!capture) return undefined;
  const counts = [...capture.matchAll(/Channels:\s*(\d+)/g)].map((m) => Number(m[1]));
  const most = Math.max(...counts);
  return Number.isFinite(most) && most >= 1 && most <= 64 ? most : undefined;
}

/** Runs a command, resolving its stdout; rejects when it fails or is not installed. */
export type CommandRunner = (command: string, args: string[]) => Promise<string>;

export const runCommand: CommandRunner = (command, args) =>
  new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 5000, maxBuffer: 1 << 20 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
  });

export interface DeviceProbe {
  run?: CommandRunner;
  readText?: (path: string) => Promise<string>;
  /** The device the capture uses, the last resort (and the channel count of its ALSA twin). */
  configured: { device: string | undefined; channels: number; sampleRate: number };
}

async function alsaDevices(probe: DeviceProbe, run: CommandRunner): Promise<ReportedInterface[]> {
  const readText = probe.readText ?? ((path: string) => readFile(path, 'utf8'));
  const out: ReportedInterface[] = [];
  for (const d of parseArecordList(await run('arecord', ['-l']))) {
    const ref = `hw:CARD=${d.cardId},DEV=${d.device}`;
    const proc = await readText(`/proc/asound/card${d.card}/stream${d.device}`).catch(() => '');
    const configured = [ref, `hw:${d.card},${d.device}`].includes(probe.configured.device ?? '');
    const channels =
      parseProcStreamChannels(proc) ?? (configured ? probe.configured.channels : undefined) ?? 2;
    out.push({ ref, kind: 'alsa', description: clip(d.description), channels, sampleRate: null });
  }
  return out;
}

/** What this machine has: PulseAudio, else ALSA, else the configured device. Never throws. */
export async function listCaptureDevices(probe: DeviceProbe): Promise<ReportedInterface[]> {
  const run = probe.run ?? runCommand;
  const attempts: (() => Promise<ReportedInterface[]>)[] = [
    async () => parsePactlSources(await run('pactl', ['list', 'sources'])),
    async () => parsePactlShortSources(await run('pactl', ['list', 'short', 'sources'])),
    () => alsaDevices(probe, run),
  ];
  for (const attempt of attempts) {
    const found = await attempt().catch(() => []);
    if (found.length > 0) return dedupe(found);
  }
  const { device, channels, sampleRate } = probe.configured;
  return [
    {
      ref: clip(device ?? 'default'),
      kind: 'configured',
      description: 'The configured capture device',
      channels: Math.min(Math.max(channels, 1), 64),
      sampleRate: sampleRate >= 1000 && sampleRate <= 384_000 ? sampleRate : null,
    },
  ];
}

/** Each reference once (the first), sorted, so two listings of the same set compare equal. */
function dedupe(devices: ReportedInterface[]): ReportedInterface[] {
  const byRef = new Map<string, ReportedInterface>();
  for (const d of devices) if (!byRef.has(d.ref)) byRef.set(d.ref, d);
  return [...byRef.values()].sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0)).slice(0, 64);
}
