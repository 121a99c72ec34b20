/**
 * Attendance signing, exports: a period export verifies offline, in process and with
 * the standalone verifier run as a process; every kind of tampering is caught.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { toBase64url } from '../../controller/src/modules/attendance/signing/encoding.js';
import {
  periodSnapshotPayload,
  type SessionReceiptPayload,
  sessionReceiptPayload,
} from '../../controller/src/modules/attendance/signing/payloads.js';
import {
  buildPeriodExport,
  type PeriodExport,
  verifyExport,
} from '../../controller/src/modules/attendance/signing/period-export.js';
import {
  preparePayload,
  type SignedRecord,
  signRecord,
} from '../../controller/src/modules/attendance/signing/records.js';
import { SigningKey } from '../../controller/src/modules/attendance/signing/signing-key.js';

const GUILD = '1234567890123456789';
const SEED = new Uint8Array(32).fill(7);
const OLD_SEED = new Uint8Array(32).fill(9);
const START = Date.UTC(2025, 0, 6);

function receiptPayload(i: number, guildId = GUILD): SessionReceiptPayload {
  return sessionReceiptPayload({
    sessionId: `session-${i}`,
    guildId,
    userId: String(900000000000000000n + BigInt(i % 3)),
    channelId: '111222333444555666',
    startedAt: START + i * 3_600_000,
    endedAt: START + i * 3_600_000 + 1_800_000,
    activeSeconds: 1700,
    pausedSeconds: 100,
    outageSeconds: 0,
    closeReason: 'left',
  });
}

/** Receipts 0..n−1 signed by `signers[i % signers.length]`, a snapshot by the last signer. */
async function period(n: number, signers: SigningKey[]) {
  const payloads = Array.from({ length: n }, (_, i) => receiptPayload(i));
  const sessions = await Promise.all(payloads.map((p, i) => signRecord(signers[i % signers.length]!, p)));
  // The snapshot binds receipts by payloadHash, computable without the key.
  const snapshotPayload = periodSnapshotPayload({
    guildId: GUILD,
    periodIndex: 4,
    periodStartedAt: START,
    periodEndedAt: START + 7 * 86_400_000,
    leaderboard: [
      { userId: '900000000000000000', activeSeconds: 3400, rank: 1 },
      { userId: '900000000000000001', activeSeconds: 1700, rank: 2 },
    ],
    sessionPayloadHashes: payloads.map((p) => preparePayload(p).payloadHash),
  });
  const snapshot = await signRecord(signers.at(-1)!, snapshotPayload);
  return { sessions, snapshot };
}

async function fixture(n = 5) {
  const key = await SigningKey.fromSecret(GUILD, SEED);
  const { sessions, snapshot } = await period(n, [key]);
  const doc = buildPeriodExport({ snapshot, sessions, keyId: key.keyId, publicKey: key.publicKey });
  return { key, doc, sessions, snapshot };
}

const clone = (doc: PeriodExport): PeriodExport => JSON.parse(JSON.stringify(doc));

describe('period export', () => {
  it('is self-contained and verifies after a JSON round trip', async () => {
    const { key, doc } = await fixture();
    expect(doc).toMatchObject({
      format: 'earshot.attendance.period-export',
      formatVersion: 1,
      algorithm: 'Ed25519',
      guildId: GUILD,
      periodIndex: 4,
      key: { keyId: key.keyId, publicKey: key.publicKey },
      retiredKeys: [],
    });
    const report = await verifyExport(clone(doc));
    expect(report).toEqual({
      valid: true,
      recognized: true,
      guildId: GUILD,
      periodIndex: 4,
      signedByKeyIds: [key.keyId],
      counts: { sessions: 5, recordsChecked: 6, recordsValid: 6, recordsInvalid: 0 },
    });
    expect((await verifyExport(clone(doc), { engine: 'noble' })).valid).toBe(true);
  });

  it('keeps only the four record fields (no database columns leak into an export)', async () => {
    const { key, snapshot, sessions } = await fixture(1);
    const withRow = { ...sessions[0]!, id: 'row-1', userEmail: 'x@example.com' } as SignedRecord;
    const doc = buildPeriodExport({
      snapshot,
      sessions: [withRow],
      keyId: key.keyId,
      publicKey: key.publicKey,
    });
    expect(Object.keys(doc.sessions[0]!).sort()).toEqual([
      'keyId',
      'payloadHash',
      'signature',
      'signedBytes',
    ]);
  });

  it('verifies across a key rotation through the retired keys, and names an unknown key', async () => {
    const oldKey = await SigningKey.fromSecret(GUILD, OLD_SEED);
    const key = await SigningKey.fromSecret(GUILD, SEED);
    const { sessions, snapshot } = await period(4, [oldKey, key]);
    const retiredKeys = [
      { keyId: oldKey.keyId, publicKey: oldKey.publicKey, retiredAt: '2025-01-08T00:00:00.000Z' },
    ];
    const doc = buildPeriodExport({
      snapshot,
      sessions,
      keyId: key.keyId,
      publicKey: key.publicKey,
      retiredKeys,
    });
    const report = await verifyExport(clone(doc));
    expect(report.valid).toBe(true);
    expect(report.signedByKeyIds).toEqual([key.keyId, oldKey.keyId].sort());
    const without = { ...clone(doc), retiredKeys: [] };
    expect((await verifyExport(without)).firstFailure).toMatchObject({
      where: 'sessions[0]',
      reason: 'unknown_key',
    });
    const trustedNew = await verifyExport(clone(doc), { trustedKeyIds: [key.keyId] });
    expect(trustedNew.firstFailure).toMatchObject({ where: 'sessions[0]', reason: 'untrusted_key' });
  });

  it('catches each kind of tampering with its place and reason', async () => {
    const { key, doc, sessions } = await fixture();
    const extra = await signRecord(key, receiptPayload(99));
    const otherGuild = preparePayload(receiptPayload(7, '42'));
    const otherGuildRecord: SignedRecord = {
      ...otherGuild,
      keyId: key.keyId,
      signature: toBase64url(await key.sign(new TextEncoder().encode(otherGuild.signedBytes))),
    };
    const cases: [string, (d: PeriodExport) => void, string, string][] = [
      [
        'a flipped byte',
        (d) => {
          d.sessions[2]!.signedBytes = d.sessions[2]!.signedBytes.replace('1700', '9700');
        },
        'sessions[2]',
        'payload_hash_mismatch',
      ],
      ['a receipt removed', (d) => void d.sessions.pop(), 'sessions', 'session_set_mismatch'],
      ['a receipt added', (d) => void d.sessions.push(extra), 'sessions', 'session_set_mismatch'],
      ['a receipt swapped', (d) => void d.sessions.splice(1, 1, extra), 'sessions', 'session_set_mismatch'],
      [
        'a receipt twice',
        (d) => void d.sessions.splice(1, 1, sessions[0]!),
        'sessions[1]',
        'duplicate_session',
      ],
      [
        'the snapshot as a receipt',
        (d) => void d.sessions.splice(0, 1, d.snapshot),
        'sessions[0]',
        'wrong_record_type',
      ],
      [
        'a receipt as the snapshot',
        (d) => Object.assign(d, { snapshot: d.sessions[0] }),
        'snapshot',
        'wrong_record_type',
      ],
      [
        'another guild’s receipt',
        (d) => void d.sessions.splice(0, 1, otherGuildRecord),
        'sessions[0]',
        'guild_mismatch',
      ],
      ['the export header', (d) => Object.assign(d, { periodIndex: 5 }), 'export', 'period_mismatch'],
      [
        'a truncated signature',
        (d) => Object.assign(d.snapshot, { signature: d.snapshot.signature.slice(0, 80) }),
        'snapshot',
        'malformed_signature',
      ],
      [
        'a key id not of its key',
        (d) => Object.assign(d.key, { keyId: '0000000000000000' }),
        'keys',
        'malformed_key',
      ],
      ['no sessions array', (d) => Object.assign(d, { sessions: undefined }), 'export', 'malformed_export'],
    ];
    for (const [what, edit, where, reason] of cases) {
      const d = clone(doc);
      edit(d);
      const report = await verifyExport(d);
      expect(report.valid, what).toBe(false);
      expect(report.firstFailure, what).toMatchObject({ where, reason });
    }
  });

  it('recognises what is not an export at all, never throwing', async () => {
    for (const garbage of [
      null,
      'x',
      42,
      [],
      {},
      { format: 'earshot.attendance.period-export', formatVersion: 9 },
    ]) {
      const report = await verifyExport(garbage);
      expect(report).toMatchObject({ valid: false, recognized: false });
      expect(report.firstFailure?.reason).toBe('unsupported_export');
    }
  });

  it('reports progress to the end', async () => {
    const { doc } = await fixture(3);
    const calls: [number, number][] = [];
    await verifyExport(doc, { onProgress: (done, total) => calls.push([done, total]) });
    expect(calls.at(-1)).toEqual([4, 4]);
  });
});

describe('earshot-attendance-verify (offline verifier, as a process)', () => {
  const run = promisify(execFile);
  const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
  const cli = join(process.cwd(), 'controller', 'src', 'attendance-verify.ts');
  const dir = mkdtempSync(join(tmpdir(), 'earshot-verify-'));
  const verify = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(tsx, [cli, ...args]);
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const write = (name: string, content: string) => {
    const file = join(dir, name);
    writeFileSync(file, content);
    return file;
  };

  it('exits 0 on a valid export and prints the key id to compare', async () => {
    const { key, doc } = await fixture(3);
    const result = await verify(write('valid.json', JSON.stringify(doc)));
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('VALID');
    expect(result.stdout).toContain(key.keyId);
    expect((await verify('--engine', 'noble', '--key-id', key.keyId, join(dir, 'valid.json'))).code).toBe(0);
  }, 30_000);

  it('exits 1 with the reason on a tampered export or an untrusted key', async () => {
    const { doc } = await fixture(3);
    const tampered = clone(doc);
    tampered.sessions[1]!.signedBytes = tampered.sessions[1]!.signedBytes.replace('"left"', '"kicked"');
    const result = await verify(write('tampered.json', JSON.stringify(tampered)));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('INVALID');
    expect(result.stderr).toContain('sessions[1]: payload_hash_mismatch');
    const untrusted = await verify(
      '--key-id',
      'ffffffffffffffff',
      '--json',
      write('ok.json', JSON.stringify(doc)),
    );
    expect(untrusted.code).toBe(1);
    expect(JSON.parse(untrusted.stdout).firstFailure.reason).toBe('untrusted_key');
  }, 30_000);

  it('exits 2 on unreadable input, and 0 on --help', async () => {
    const [missing, notJson, other, help] = await Promise.all([
      verify(join(dir, 'missing.json')),
      verify(write('bad.json', '{"format": ')),
      verify(write('other.json', '{"hello":"world"}')),
      verify('--help'),
    ]);
    expect(missing.code).toBe(2);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain('not valid JSON');
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('not an Earshot period export');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('earshot-attendance-verify');
    expect(help.stdout).toContain('Exit status');
  }, 30_000);
});
