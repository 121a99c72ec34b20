// Capture against stand-ins for sox (the one thing here we do not own): shell scripts
// named `sox` first on PATH. The real sox + PulseAudio path is in
// test/integration/agent-capture.test.ts.
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Capture, type CaptureError } from '../../agent/src/capture/capture.js';
import { type TempDir, tempDir } from '../support/tmp.js';

let dir: TempDir;
const savedEnv = { ...process.env };

beforeEach(async () => {
  dir = await tempDir('fake-sox');
});
afterEach(async () => {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  await dir.cleanup();
});

/** Puts a `sox` script first on PATH (PATH keeps /bin etc. for the script's own tools). */
async function fakeSox(script: string): Promise<void> {
  const path = join(dir.path, 'sox');
  await writeFile(path, `#!/bin/sh\n${script}\n`);
  await chmod(path, 0o755);
  process.env.PATH = `${dir.path}:${savedEnv.PATH ?? '/usr/bin:/bin'}`;
}

/** The arguments a capture with `options` starts sox with (a fake sox prints them). */
async function soxArgsOf(options: ConstructorParameters<typeof Capture>[0]): Promise<string> {
  await fakeSox('echo "args=$*"; exec sleep 30');
  const capture = new Capture(options);
  const out: Buffer[] = [];
  capture.on('data', (chunk) => out.push(chunk));
  capture.on('error', () => {});
  capture.start();
  await expect.poll(() => Buffer.concat(out).toString()).toContain('--type raw');
  await capture.stop();
  return Buffer.concat(out).toString();
}

function nextEvent<T>(capture: Capture, name: 'error' | 'close'): Promise<T> {
  return new Promise((resolve) => capture.once(name, (...args: unknown[]) => resolve(args[0] as T)));
}

describe('Capture', () => {
  it('feeds every listener the same PCM, passes AUDIODRIVER through, sets AUDIODEV, stops cleanly', async () => {
    // Prints its arguments and environment, then "captures" until killed.
    await fakeSox('echo "args=$* dev=$AUDIODEV driver=$AUDIODRIVER"; exec sleep 30');
    process.env.AUDIODRIVER = 'pulseaudio';
    const capture = new Capture({ device: 'cap.monitor', sampleRate: 44_100, channels: 2 });
    const first: Buffer[] = [];
    const second: Buffer[] = [];
    const errors: CaptureError[] = [];
    capture.on('data', (chunk) => first.push(chunk));
    capture.on('data', (chunk) => second.push(chunk));
    capture.on('error', (error) => errors.push(error));
    capture.start();
    expect(capture.running).toBe(true);
    await expect.poll(() => Buffer.concat(first).toString()).toContain('driver=');

    const text = Buffer.concat(first).toString();
    expect(Buffer.concat(second).toString()).toBe(text);
    expect(text).toContain('dev=cap.monitor driver=pulseaudio');
    // The device is asked for the same format as the output (no conversion, no dither).
    expect(text).toMatch(
      /-D --no-show-progress --rate 44100 --channels 2 --encoding signed-integer --bits 16 --default-device --rate 44100 --channels 2 --encoding signed-integer --bits 16 --type raw -/,
    );

    const closed = nextEvent(capture, 'close');
    await capture.stop();
    await closed;
    expect(capture.running).toBe(false);
    expect(errors).toEqual([]);
  });

  it('asks sox for 24-bit samples when the capture runs at 24 bits', async () => {
    expect(await soxArgsOf({ sampleRate: 48_000, channels: 1, bitDepth: 24 })).toMatch(
      /--rate 48000 --channels 1 --encoding signed-integer --bits 24 --type raw -/,
    );
  });

  it('asks sox for bigger buffers when its default 8 KiB is a few ms of a wide capture', async () => {
    // 40 ms of 8 × 16 bits at 48 kHz.
    expect(await soxArgsOf({ sampleRate: 48_000, channels: 8 })).toMatch(
      /-D --no-show-progress --buffer 30720 --rate 48000 --channels 8/,
    );
  });

  it('reports a missing sox with the package to install, without throwing', async () => {
    process.env.PATH = dir.path; // empty folder: no sox anywhere
    const capture = new Capture({ sampleRate: 48_000, channels: 1 });
    const error = nextEvent<CaptureError>(capture, 'error');
    capture.start();
    await expect(error).resolves.toMatchObject({
      code: 'sox-missing',
      message: expect.stringContaining('apt-get install sox libsox-fmt-all'),
    });
    expect(capture.running).toBe(false);
  });

  it('reports a device failure with sox stderr', async () => {
    await fakeSox(`echo "sox FAIL formats: can't open input \\\`$AUDIODEV': No such device" >&2; exit 2`);
    const capture = new Capture({ device: 'hw:9,9', sampleRate: 48_000, channels: 1 });
    const error = nextEvent<CaptureError>(capture, 'error');
    capture.start();
    const failure = await error;
    expect(failure.code).toBe('device-failed');
    expect(failure.message).toContain('exited with code 2');
    expect(failure.message).toContain("can't open input `hw:9,9'");
  });

  it('reports a capture that ends by itself (device gone) and can be started again', async () => {
    await fakeSox('printf abcd');
    const capture = new Capture({ sampleRate: 48_000, channels: 1 });
    capture.on('data', () => {});
    const error = nextEvent<CaptureError>(capture, 'error');
    capture.start();
    expect((await error).code).toBe('ended');
    expect(capture.running).toBe(false);
    const again = nextEvent<CaptureError>(capture, 'error');
    capture.start();
    expect((await again).code).toBe('ended');
  });

  it('refuses a second start while running', async () => {
    await fakeSox('exec sleep 30');
    const capture = new Capture({ sampleRate: 48_000, channels: 1 });
    capture.start();
    expect(() => capture.start()).toThrow(/already/);
    await capture.stop();
  });
});
