import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recoverWav } from '../../agent/src/capture/wav-recovery.js';
import { WAV_HEADER_BYTES, wavHeader } from '../../agent/src/capture/wav-writer.js';
import { JobJournal, type JournalEntry, journalPath } from '../../agent/src/state/journal.js';
import { type TempDir, tempDir } from '../support/tmp.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('agent-journal');
});
afterEach(async () => {
  await dir.cleanup();
});

const entry = (jobId: string, patch: Partial<JournalEntry> = {}): JournalEntry => ({
  jobId,
  recordingId: `rec-${jobId}`,
  epoch: 1,
  state: 'recording',
  path: `/cache/recordings/rec-${jobId}-e1.wav`,
  sampleRate: 48_000,
  channels: 2,
  startedAtMs: 1_700_000_000_000,
  ...patch,
});

describe('job journal', () => {
  it('round-trips entries through the file', async () => {
    const path = journalPath(dir.path);
    const journal = new JobJournal(path);
    await journal.load();
    expect(journal.list()).toEqual([]);
    await journal.put(entry('a'));
    await journal.put(entry('b'));
    await journal.update('a', { state: 'recorded', sizeBytes: 44, sha256: 'f'.repeat(64), durationMs: 0 });
    await journal.remove('b');

    const reloaded = new JobJournal(path);
    await reloaded.load();
    expect(reloaded.list()).toEqual([
      entry('a', { state: 'recorded', sizeBytes: 44, sha256: 'f'.repeat(64), durationMs: 0 }),
    ]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readdir(dir.path)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('concurrent changes all land, in order', async () => {
    const journal = new JobJournal(journalPath(dir.path));
    await journal.load();
    await Promise.all(Array.from({ length: 20 }, (_, i) => journal.put(entry(`job-${i}`))));
    await Promise.all(Array.from({ length: 20 }, (_, i) => journal.update(`job-${i}`, { epoch: i + 2 })));
    const reloaded = new JobJournal(journalPath(dir.path));
    await reloaded.load();
    expect(reloaded.list().map((e) => e.epoch)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
  });

  it('returns copies: callers cannot change the journal behind its back', async () => {
    const journal = new JobJournal(journalPath(dir.path));
    await journal.load();
    await journal.put(entry('a'));
    const copy = journal.get('a')!;
    copy.state = 'failed';
    expect(journal.get('a')?.state).toBe('recording');
  });

  it('rekeys a registered part in one write; the old id still finds it, undefined fields go', async () => {
    const path = journalPath(dir.path);
    const journal = new JobJournal(path);
    await journal.load();
    const pendingPart = { epoch: 2, reason: 'continues', startedAtMs: 1, durationSeconds: 60 };
    await journal.put(entry('pending-part-x', { continues: { jobId: 'a', epoch: 2 }, pendingPart }));
    await journal.rekey('pending-part-x', 'job-7', { epoch: 1, pendingPart: undefined });
    expect(journal.resolve('pending-part-x')).toBe('job-7');
    await journal.update('pending-part-x', { state: 'recorded' });
    expect(journal.get('pending-part-x')).toEqual(journal.get('job-7'));
    const reloaded = new JobJournal(path);
    await reloaded.load();
    expect(reloaded.list()).toEqual([
      entry('job-7', {
        recordingId: 'rec-pending-part-x',
        path: '/cache/recordings/rec-pending-part-x-e1.wav',
        epoch: 1,
        state: 'recorded',
        continues: { jobId: 'a', epoch: 2 },
      }),
    ]);
  });

  it('rejects a journal file that does not match its schema', async () => {
    await writeFile(journalPath(dir.path), JSON.stringify({ version: 1, entries: [{ jobId: 3 }] }));
    await expect(new JobJournal(journalPath(dir.path)).load()).rejects.toThrow(/journal\.json/);
  });
});

describe('recovering a recording cut short by a crash', () => {
  it('turns the .part into a valid WAV of the whole frames on disk and hashes it', async () => {
    const path = join(dir.path, 'take.wav');
    const pcm = Buffer.alloc(4 * 1000 + 3, 7); // 1000 stereo frames and a torn one
    // As WavWriter leaves it for an open-ended recording: header says 0 data bytes.
    await writeFile(`${path}.part`, Buffer.concat([wavHeader(48_000, 2, 0), pcm]));

    const recovered = await recoverWav(path);
    const bytes = await readFile(path);
    expect(bytes.length).toBe(WAV_HEADER_BYTES + 4000);
    expect(bytes.readUInt32LE(40)).toBe(4000);
    expect(bytes.readUInt32LE(4)).toBe(36 + 4000);
    expect(recovered).toEqual({
      path,
      sizeBytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      durationMs: Math.round((1000 * 1000) / 48_000),
    });
    expect(await readdir(dir.path)).toEqual(['take.wav']);
  });

  it('keeps whole 24-bit frames (its header says the depth) when it repairs a part', async () => {
    const path = join(dir.path, 'deep.wav');
    const pcm = Buffer.alloc(6 * 500 + 4, 9); // 500 stereo 24-bit frames and a torn one
    await writeFile(`${path}.part`, Buffer.concat([wavHeader(8000, 2, 0, 24), pcm]));
    const recovered = await recoverWav(path);
    const bytes = await readFile(path);
    expect(bytes.length).toBe(WAV_HEADER_BYTES + 3000);
    expect(bytes.readUInt32LE(40)).toBe(3000);
    expect(bytes.readUInt16LE(34)).toBe(24);
    expect(recovered?.durationMs).toBe(Math.round((500 * 1000) / 8000));
  });

  it('hashes a file that was already renamed, and reports nothing when nothing reached the disk', async () => {
    const path = join(dir.path, 'done.wav');
    await writeFile(path, Buffer.concat([wavHeader(8000, 1, 16), Buffer.alloc(16)]));
    expect((await recoverWav(path))?.sizeBytes).toBe(60);
    expect(await recoverWav(join(dir.path, 'never.wav'))).toBeUndefined();
  });
});
