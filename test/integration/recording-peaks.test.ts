/**
 * GET /api/v1/recordings/:id/peaks on a real database and real files: the peaks of a known tone
 * (WAV and FLAC) are right, computed once and cached beside the file; a missing recording or
 * one outside the caller's scope is a 404, a bad `points` a 400, a recording without a file a 409.
 */
import { execFileSync } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { computePeaks } from '../../controller/src/modules/recordings/peaks.service.js';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { completedRecording, createRecording } from '../support/recordings.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const RATE = 8000;

/** 1 s of 8 kHz stereo: silence, then a 1 kHz tone of ±16000 on the right channel only. */
function toneWav(): Buffer {
  const frames = RATE;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + frames * 4, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(2, 22);
  header.writeUInt32LE(RATE, 24);
  header.writeUInt32LE(RATE * 4, 28);
  header.writeUInt16LE(4, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(frames * 4, 40);
  const data = Buffer.alloc(frames * 4);
  for (let f = frames / 2; f < frames; f++)
    data.writeInt16LE(Math.round(16000 * Math.sin((2 * Math.PI * 1000 * f) / RATE)), f * 4 + 2);
  return Buffer.concat([header, data]);
}

describe('recording peaks', () => {
  let ctl: TestController;
  let owner: string;
  let wavId: string;
  let flacId: string;
  let westId: string;
  let pendingId: string;
  let garbageId: string;
  let eastViewer: string;
  let tmp: TempDir;

  const peaks = (token: string, id: string, query = '') =>
    ctl.app.inject({ method: 'GET', url: `/api/v1/recordings/${id}/peaks${query}`, headers: bearer(token) });

  beforeAll(async () => {
    ctl = await testController({});
    await ctl.start(); // the components too: peaks are computed as recordings complete
    owner = await ctl.ownerToken();
    vi.spyOn(ctl.broker, 'publishToNode').mockImplementation(async () => {});
    const east = await enrolledNode(ctl, { id: 'peaks-east', site: 'east' });
    eastViewer = await userWithRole(ctl, 'peaks-viewer', 'viewer', { type: 'site', id: east.siteId });
    const west = await enrolledNode(ctl, { id: 'peaks-west', site: 'west' });
    const wav = toneWav();
    tmp = await tempDir('peaks');
    const dir = tmp.path;
    await writeFile(join(dir, 'tone.wav'), wav);
    execFileSync('sox', [join(dir, 'tone.wav'), join(dir, 'tone.flac')]);
    wavId = (await completedRecording(ctl, owner, east, wav)).id;
    flacId = (await completedRecording(ctl, owner, east, await readFile(join(dir, 'tone.flac')))).id;
    westId = (await completedRecording(ctl, owner, west, wav)).id;
    pendingId = (await createRecording(ctl, owner, east.nodeId)).id;
    // An agent may upload anything under a checksum that matches it.
    garbageId = (
      await completedRecording(ctl, owner, east, Buffer.from('not audio at all, just text\n'.repeat(50)))
    ).id;
  });
  afterAll(async () => {
    await ctl.stop();
    await tmp.cleanup();
  });

  const expected = {
    points: 4,
    durationMs: 1000,
    sampleRate: RATE,
    channels: 2,
    min: [0, 0, -0.4883, -0.4883],
    max: [0, 0, 0.4883, 0.4883],
  };

  it('gives the min and max of each span of a known tone, over all channels, and caches them', async () => {
    const res = await peaks(owner, wavId, '?points=4');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data).toEqual({ recordingId: wavId, ...expected });
    const recording = await ctl.db.recording.findUniqueOrThrow({ where: { id: wavId } });
    const cache = join(ctl.config.dataDir, 'recordings', recording.nodeId, `${wavId}.peaks.json`);
    const cached = await stat(cache);
    const again = await peaks(owner, wavId, '?points=2');
    expect(again.json().data).toMatchObject({ points: 2, min: [0, -0.4883], max: [0, 0.4883] });
    expect((await stat(cache)).mtimeMs).toBe(cached.mtimeMs); // read, not computed again
    const whole = await peaks(owner, wavId);
    expect(whole.json().data.points).toBe(1000);
  });

  it('computes the peaks as a recording completes, before anyone asks', async () => {
    const recording = await ctl.db.recording.findUniqueOrThrow({ where: { id: flacId } });
    const cache = join(ctl.config.dataDir, 'recordings', recording.nodeId, `${flacId}.peaks.json`);
    await vi.waitFor(() => stat(cache), { timeout: 10_000, interval: 50 });
  });

  it('reads a FLAC file the same way', async () => {
    const res = await peaks(owner, flacId, '?points=4');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data).toEqual({ recordingId: flacId, ...expected });
  });

  it('answers concurrent first asks with one computation', async () => {
    const [a, b] = await Promise.all([peaks(owner, westId, '?points=8'), peaks(owner, westId, '?points=8')]);
    expect(a.statusCode).toBe(200);
    expect(b.json().data).toEqual(a.json().data);
  });

  it('is a 404 for a missing recording and for one outside the caller scope (a denial audited)', async () => {
    expect((await peaks(owner, 'no-such-recording')).statusCode).toBe(404);
    expect((await peaks(eastViewer, wavId, '?points=4')).statusCode).toBe(200);
    const foreign = await peaks(eastViewer, westId);
    expect(foreign.statusCode).toBe(404);
    const denied = await ctl.db.auditEvent.findMany({ where: { targetId: westId, outcome: 'denied' } });
    expect(denied).toHaveLength(1);
  });

  it('refuses a bad points with 400', async () => {
    for (const query of ['?points=0', '?points=8193', '?points=abc', '?points=1.5'])
      expect((await peaks(owner, wavId, query)).statusCode, query).toBe(400);
  });

  it('is a 422 that says so, not a 5xx, when the stored file is not audio', async () => {
    const res = await peaks(owner, garbageId);
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error.message).toMatch(/cannot be decoded as WAV or FLAC/);
    // Asked again, still a clear answer (no half-written cache).
    expect((await peaks(owner, garbageId)).statusCode).toBe(422);
  });

  it('a computation stopped midway (the warmer stopping) rejects, and leaves no unhandled rejection', async () => {
    // A minute of 48 kHz stereo takes sox a while to decode: the abort lands during soxi or the
    // decode, and either way the computation rejects with the abort (vitest fails the run on an
    // unhandled rejection, which is what this guards).
    const long = join(tmp.path, 'long.wav');
    execFileSync('sox', ['-n', '-r', '48000', '-c', '2', '-b', '16', long, 'synth', '60', 'sine', '440']);
    const abort = new AbortController();
    const computing = computePeaks(long, null, abort.signal);
    setTimeout(() => abort.abort(), 50);
    await expect(computing).rejects.toThrow(/abort/i);
  });

  it('is a 409 while the recording has no file', async () => {
    expect((await peaks(owner, pendingId)).statusCode).toBe(409);
  });
});
