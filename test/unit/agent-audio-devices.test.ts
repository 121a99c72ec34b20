// The agent's capture-device listing, on captured command output (test/unit/fixtures/audio-devices):
// PulseAudio long and short forms, ALSA with /proc channel counts, and the fallbacks in order.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type CommandRunner,
  listCaptureDevices,
  parseArecordList,
  parsePactlShortSources,
  parsePactlSources,
  parseProcStreamChannels,
  parseSampleSpec,
} from '../../agent/src/capture/devices.js';

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, 'fixtures/audio-devices', name), 'utf8');

const PULSE = [
  {
    ref: 'earshot_test.monitor',
    kind: 'pulse',
    description: 'Monitor of Null Output',
    channels: 2,
    sampleRate: 48_000,
  },
  { ref: 'quad.monitor', kind: 'pulse', description: 'Monitor of Quad', channels: 4, sampleRate: 44_100 },
];

/** A runner answering from fixtures; a command without one fails as if not installed. */
function runner(outputs: Record<string, string>): CommandRunner & { calls: string[] } {
  const calls: string[] = [];
  const run = async (command: string, args: string[]) => {
    const line = [command, ...args].join(' ');
    calls.push(line);
    const out = outputs[line];
    if (out === undefined) throw Object.assign(new Error(`spawn ${command} ENOENT`), { code: 'ENOENT' });
    return out;
  };
  return Object.assign(run, { calls });
}

const CONFIGURED = { device: 'hw:1,0', channels: 4, sampleRate: 48_000 };

describe('capture device listing', () => {
  it('reads a sample spec', () => {
    expect(parseSampleSpec('s16le 2ch 48000Hz')).toEqual({ channels: 2, sampleRate: 48_000 });
    expect(parseSampleSpec('float32le 8ch 96000Hz')).toEqual({ channels: 8, sampleRate: 96_000 });
    expect(parseSampleSpec('s16le 0ch 48000Hz')).toBeUndefined();
    expect(parseSampleSpec('garbage')).toBeUndefined();
  });

  it('parses `pactl list sources` and its short form to the same devices', () => {
    expect(parsePactlSources(fixture('pactl-list-sources.txt'))).toEqual(PULSE);
    const short = parsePactlShortSources(fixture('pactl-list-short-sources.txt'));
    expect(short.map(({ description: _d, ...rest }) => rest)).toEqual(
      PULSE.map(({ description: _d, ...rest }) => rest),
    );
    expect(short[0]!.description).toBe('module-null-sink.c');
  });

  it('parses nothing from output it does not know (another locale, an error text)', () => {
    expect(parsePactlSources('Quelle #0\n\tNom : x\n')).toEqual([]);
    expect(parsePactlShortSources('Connection failure: Connection refused\n')).toEqual([]);
    expect(parseArecordList('arecord: device_list:277: no soundcards found...\n')).toEqual([]);
  });

  it('parses `arecord -l` and the USB capture channel count from /proc/asound', () => {
    expect(parseArecordList(fixture('arecord-l.txt'))).toEqual([
      { card: 0, cardId: 'PCH', device: 0, description: 'HDA Intel PCH: ALC3246 Analog' },
      { card: 1, cardId: 'U192k', device: 0, description: 'UMC404HD 192k: USB Audio' },
    ]);
    expect(parseProcStreamChannels(fixture('proc-asound-card1-stream0.txt'))).toBe(4);
    expect(parseProcStreamChannels('Playback:\n  Channels: 2\n')).toBeUndefined();
  });

  it('uses PulseAudio first', async () => {
    const run = runner({ 'pactl list sources': fixture('pactl-list-sources.txt') });
    expect(await listCaptureDevices({ run, configured: CONFIGURED })).toEqual(PULSE);
    expect(run.calls).toEqual(['pactl list sources']);
  });

  it('falls back to the short form when the long one reads as nothing', async () => {
    const run = runner({
      'pactl list sources': 'Quelle #0\n',
      'pactl list short sources': fixture('pactl-list-short-sources.txt'),
    });
    const devices = await listCaptureDevices({ run, configured: CONFIGURED });
    expect(devices.map((d) => d.ref)).toEqual(['earshot_test.monitor', 'quad.monitor']);
  });

  it('falls back to ALSA without PulseAudio: card ids as references, channels from /proc', async () => {
    const run = runner({ 'arecord -l': fixture('arecord-l.txt') });
    const files: Record<string, string> = {
      '/proc/asound/card1/stream0': fixture('proc-asound-card1-stream0.txt'),
    };
    const readText = async (path: string) => {
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT ${path}`);
      return text;
    };
    expect(await listCaptureDevices({ run, readText, configured: CONFIGURED })).toEqual([
      {
        ref: 'hw:CARD=PCH,DEV=0',
        kind: 'alsa',
        description: 'HDA Intel PCH: ALC3246 Analog',
        channels: 2,
        sampleRate: null,
      },
      {
        ref: 'hw:CARD=U192k,DEV=0',
        kind: 'alsa',
        description: 'UMC404HD 192k: USB Audio',
        channels: 4,
        sampleRate: null,
      },
    ]);
    expect(run.calls).toEqual(['pactl list sources', 'pactl list short sources', 'arecord -l']);
  });

  it('falls back to the configured device when nothing can be listed', async () => {
    const run = runner({});
    expect(await listCaptureDevices({ run, configured: CONFIGURED })).toEqual([
      {
        ref: 'hw:1,0',
        kind: 'configured',
        description: 'The configured capture device',
        channels: 4,
        sampleRate: 48_000,
      },
    ]);
  });
});
