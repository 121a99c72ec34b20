/**
 * `earshot-agent doctor`: everything `status` says (enrolled, controller reachable, credential
 * accepted, cache backlog, clock offset, disk), then what only trying shows: the MQTT broker
 * answers on its port (a TCP check: logging in as the node would take the running daemon's
 * session over), the capture device records (one second, with its level per channel), and the
 * hours of recording the disk holds at that format. Exit code non-zero when anything is wrong.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { Capture, type CaptureOptions } from './capture/capture.js';
import { captureOptionsFor } from './capture/capture-options.js';
import { MeterAccumulator } from './capture/meter.js';
import { bytesPerSample } from './capture/pcm-format.js';
import type { CaptureSource } from './capture/supervisor.js';
import { diskFreeBytes } from './link/heartbeat.js';
import { describeError } from './link/http-client.js';
import { brokerUrl } from './link/mqtt-link.js';
import type { AgentSettings } from './state/settings.js';
import { agentStatus, type StatusReport } from './status.js';

const label = (name: string) => `${name}:`.padEnd(14);
/** Below this on every channel, the device records only silence. */
const SILENT_DBFS = -90;

export interface DoctorOptions {
  fetch?: typeof fetch;
  /** The capture to try (tests); the real sox capture otherwise. */
  createCapture?: (options: CaptureOptions) => CaptureSource;
  recordMs?: number;
}

export async function agentDoctor(
  settings: AgentSettings,
  options: DoctorOptions = {},
): Promise<StatusReport> {
  const report = await agentStatus(settings, options.fetch);
  const { state, config } = report;
  if (!state || !config) {
    report.lines.push(`${label('doctor')}stopped here: fix what is above first`);
    return { ...report, ok: false };
  }
  const format = captureOptionsFor(config, settings.deviceOverride);
  const checks = [
    await brokerCheck(settings.mqttUrlOverride ?? brokerUrl(state.controllerUrl, config.mqttPort)),
    await captureCheck(format, options),
    await headroomCheck(settings.cacheDir, format),
  ];
  for (const check of checks) report.lines.push(...check.lines);
  return { ...report, ok: report.ok && checks.every((c) => c.ok) };
}

async function brokerCheck(url: string): Promise<{ ok: boolean; lines: string[] }> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port || 1883), timeout: 5000 });
  try {
    await Promise.race([
      once(socket, 'connect'),
      once(socket, 'timeout').then(() => {
        throw new Error('no answer in 5 s');
      }),
    ]);
    return { ok: true, lines: [`${label('mqtt')}broker answers at ${hostname}:${port}`] };
  } catch (error) {
    return {
      ok: false,
      lines: [
        `${label('mqtt')}broker NOT reachable at ${hostname}:${port}: ${describeError(error)}`,
        '              commands and live meters need it; check the port is open (EARSHOT_AGENT_MQTT_URL overrides it)',
      ],
    };
  } finally {
    socket.destroy();
  }
}

/** Records a second from the device and measures it; the level says whether anything is plugged in. */
async function captureCheck(
  format: CaptureOptions,
  options: DoctorOptions,
): Promise<{ ok: boolean; lines: string[] }> {
  const capture = (options.createCapture ?? ((o) => new Capture(o)))(format);
  const meter = new MeterAccumulator({ ...format, windowMs: options.recordMs ?? 1000 });
  const frames: ReturnType<MeterAccumulator['push']> = [];
  let failure: string | undefined;
  capture.on('data', (chunk) => frames.push(...meter.push(chunk)));
  capture.on('error', (error) => {
    failure ??= error.message;
  });
  const device = format.device ?? 'the default device';
  capture.start();
  const deadline = Date.now() + (options.recordMs ?? 1000) + 4000;
  while (frames.length === 0 && !failure && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  await capture.stop();
  const frame = frames[0];
  if (!frame) {
    return {
      ok: false,
      lines: [
        `${label('capture')}${device} does NOT record: ${failure ?? 'no audio within 5 s'}`,
        '              check the device name (arecord -l / pactl list short sources) and that no other program holds it',
      ],
    };
  }
  const levels = frame.channels.map((c, i) => `ch${i + 1} ${c.rmsDbfs.toFixed(1)} dBFS RMS`).join(', ');
  const silent = frame.channels.every((c) => c.peakDbfs < SILENT_DBFS);
  return {
    ok: !silent,
    lines: [
      `${label('capture')}${device} records (${format.sampleRate} Hz × ${format.channels} ch × ${format.bitDepth ?? 16} bit): ${levels}`,
      ...(silent ? ['              but only silence: check the input is connected and its gain'] : []),
    ],
  };
}

async function headroomCheck(cacheDir: string, { sampleRate, channels, bitDepth }: CaptureOptions) {
  try {
    const hours = (await diskFreeBytes(cacheDir)) / (sampleRate * channels * bytesPerSample(bitDepth) * 3600);
    const low = hours < 24;
    return {
      ok: !low,
      lines: [
        `${label('headroom')}${hours.toFixed(1)} h of recording at ${sampleRate} Hz × ${channels} ch × ${bitDepth ?? 16} bit (WAV)${low ? ': LOW, free some space' : ''}`,
      ],
    };
  } catch (error) {
    return { ok: false, lines: [`${label('headroom')}unknown: ${describeError(error)}`] };
  }
}
