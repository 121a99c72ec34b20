/**
 * Attendance export verification: a period export of N session receipts
 * (100,000) signed with one key, checked by verifyExport after a JSON round trip as a
 * member's verifier would read it: hashes, signatures, canonical payloads, the
 * snapshot's receipt set. Reference in the same run: a bare node:crypto
 * `verify(null, message, key, signature)` loop over the same signatures, messages and
 * signatures decoded beforehand. Also reported: verifyExport with the pure-JS noble
 * engine on a sample, and signRecord (noble) rate, which bounds signing on unlock.
 *
 * Rates are per CPU-second of this process (process.cpuUsage, all threads, so GC counts),
 * not per wall-second: benches here often share the machine, and contention would skew
 * a wall-clock ratio between two runs made a minute apart. Wall time is reported too.
 *
 * Receipts are signed with node:crypto for speed; Ed25519 is deterministic, so these
 * are the records signRecord makes (checked on the first one).
 *
 * Env: EARSHOT_BENCH_VERIFY_RECORDS (100000), EARSHOT_BENCH_VERIFY_NOBLE_SAMPLE (2000).
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, verify } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { toBase64url } from '../../controller/src/modules/attendance/signing/encoding.js';
import {
  periodSnapshotPayload,
  sessionReceiptPayload,
} from '../../controller/src/modules/attendance/signing/payloads.js';
import {
  buildPeriodExport,
  verifyExport,
} from '../../controller/src/modules/attendance/signing/period-export.js';
import {
  preparePayload,
  type SignedRecord,
  signRecord,
} from '../../controller/src/modules/attendance/signing/records.js';
import { SigningKey } from '../../controller/src/modules/attendance/signing/signing-key.js';
import type { BenchRow } from './report.js';

const GUILD = '1234567890123456789';
const SIGN_SAMPLE = 1000;

function positiveInt(name: string, fallback: number): number {
  const value = Number(process.env[name] || fallback);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name}: expected a whole number ≥ 1`);
  return value;
}

/** Runs `work`, returning its CPU seconds (user + system) and wall seconds. */
async function measure<T>(work: () => Promise<T> | T): Promise<{ result: T; cpu: number; wall: number }> {
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  const result = await work();
  const { user, system } = process.cpuUsage(cpuStart);
  return { result, cpu: (user + system) / 1e6, wall: (performance.now() - wallStart) / 1000 };
}

function receipt(i: number) {
  const start = Date.UTC(2025, 0, 6) + i * 1000;
  return sessionReceiptPayload({
    sessionId: `bench-${i}`,
    guildId: GUILD,
    userId: String(100000000000000000n + BigInt(i % 5000)),
    channelId: String(200000000000000000n + BigInt(i % 20)),
    startedAt: start,
    endedAt: start + 3_600_000,
    activeSeconds: 3000 + (i % 600),
    pausedSeconds: 600 - (i % 600),
    outageSeconds: 0,
    closeReason: i % 7 === 0 ? 'moved' : 'left',
  });
}

export async function verifyBench(): Promise<BenchRow[]> {
  const count = positiveInt('EARSHOT_BENCH_VERIFY_RECORDS', 100_000);
  const nobleSample = Math.min(count, positiveInt('EARSHOT_BENCH_VERIFY_NOBLE_SAMPLE', 2000));
  const seed = randomBytes(32);
  const key = await SigningKey.fromSecret(GUILD, seed);
  const privateKey = createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: key.publicKey, d: toBase64url(seed) },
    format: 'jwk',
  });
  const fastSign = (payload: ReturnType<typeof receipt> | ReturnType<typeof periodSnapshotPayload>) => {
    const prepared = preparePayload(payload);
    const signature = sign(null, Buffer.from(prepared.signedBytes), privateKey).toString('base64url');
    return { ...prepared, keyId: key.keyId, signature } satisfies SignedRecord;
  };

  const generateStarted = performance.now();
  const sessions = Array.from({ length: count }, (_, i) => fastSign(receipt(i)));
  const viaSignRecord = await signRecord(key, receipt(0));
  const first = sessions[0]!;
  if (viaSignRecord.signature !== first.signature || viaSignRecord.signedBytes !== first.signedBytes)
    throw new Error('node:crypto and signRecord disagree on the same record');
  const snapshot = fastSign(
    periodSnapshotPayload({
      guildId: GUILD,
      periodIndex: 1,
      periodStartedAt: Date.UTC(2025, 0, 6),
      periodEndedAt: Date.UTC(2025, 0, 13),
      leaderboard: [{ userId: '100000000000000000', activeSeconds: 3000, rank: 1 }],
      sessionPayloadHashes: sessions.map((s) => s.payloadHash),
    }),
  );
  const text = JSON.stringify(
    buildPeriodExport({ snapshot, sessions, keyId: key.keyId, publicKey: key.publicKey }),
  );
  console.error(
    `  ${count.toLocaleString('en')} receipts generated in ${((performance.now() - generateStarted) / 1000).toFixed(1)} s; export ${(text.length / 1e6).toFixed(1)} MB`,
  );

  // Reference: raw node:crypto verify, inputs decoded beforehand.
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.publicKey }, format: 'jwk' });
  const messages = sessions.map((s) => Buffer.from(s.signedBytes));
  const signatures = sessions.map((s) => Buffer.from(s.signature, 'base64url'));
  const rawLoop = (n: number) => {
    let valid = 0;
    for (let i = 0; i < n; i++) if (verify(null, messages[i]!, publicKey, signatures[i]!)) valid++;
    return valid;
  };
  const raw = await measure(() => rawLoop(count));
  if (raw.result !== count) throw new Error(`raw verify rejected ${count - raw.result} signatures`);
  const rawRate = count / raw.cpu;

  // Subject: the whole export, parsed from its text like the offline verifier does.
  const ours = await measure(() => verifyExport(JSON.parse(text)));
  const report = ours.result;
  if (!report.valid) throw new Error(`export did not verify: ${JSON.stringify(report.firstFailure)}`);
  const rate = report.counts.recordsChecked / ours.cpu;

  // The pure-JS engine, on a sample (its own snapshot over the sample's receipts).
  const sample = sessions.slice(0, nobleSample);
  const sampleSnapshot = fastSign(
    periodSnapshotPayload({
      guildId: GUILD,
      periodIndex: 2,
      periodStartedAt: Date.UTC(2025, 0, 6),
      periodEndedAt: Date.UTC(2025, 0, 13),
      leaderboard: [],
      sessionPayloadHashes: sample.map((s) => s.payloadHash),
    }),
  );
  const sampleDoc = buildPeriodExport({
    snapshot: sampleSnapshot,
    sessions: sample,
    keyId: key.keyId,
    publicKey: key.publicKey,
  });
  const noble = await measure(() => verifyExport(sampleDoc, { engine: 'noble' }));
  if (!noble.result.valid) throw new Error('sample export did not verify with noble');
  const nobleRate = noble.result.counts.recordsChecked / noble.cpu;
  const rawSampleRate = nobleSample / (await measure(() => rawLoop(nobleSample))).cpu;

  const signing = await measure(async () => {
    for (let i = 0; i < SIGN_SAMPLE; i++) await signRecord(key, receipt(i));
  });
  const signRate = SIGN_SAMPLE / signing.cpu;

  return [
    {
      bench: 'verify',
      subject: `verifyExport, ${count.toLocaleString('en')} receipts (node engine)`,
      metric: 'records/CPU-s',
      value: rate,
      unit: '/s',
      reference: { subject: 'raw node:crypto verify loop', value: rawRate, ratio: rate / rawRate },
    },
    {
      bench: 'verify',
      subject: 'verifyExport, whole export',
      metric: 'wall time',
      value: ours.wall,
      unit: `s (${ours.cpu.toFixed(1)} s CPU)`,
    },
    {
      bench: 'verify',
      subject: `verifyExport, ${nobleSample.toLocaleString('en')} receipts (noble engine)`,
      metric: 'records/CPU-s',
      value: nobleRate,
      unit: '/s',
      reference: {
        subject: 'raw node:crypto verify loop',
        value: rawSampleRate,
        ratio: nobleRate / rawSampleRate,
      },
    },
    {
      bench: 'verify',
      subject: 'signRecord (noble signAsync)',
      metric: 'records/CPU-s',
      value: signRate,
      unit: '/s',
    },
    {
      bench: 'verify',
      subject: 'export size',
      metric: 'bytes/receipt',
      value: text.length / count,
      unit: 'B',
    },
  ];
}
