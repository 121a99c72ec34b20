/**
 * S3 copy: the upload queue's object store (`s3Store(…).upload()`, controller/src/modules/
 * storage/s3-store.ts) copying one file (256 MiB) to s3rver (a real S3 API on a folder, on
 * loopback): multipart in `PART_BYTES` parts, one at a time, each read from the file, hashed
 * (SHA-256) and sent with its checksum, progress handed to the caller after each part, then the
 * copy verified (s3rver keeps no checksum, so it is read back and hashed: `reread`).
 *
 * References in the same run, to the same server: the plain AWS SDK (`@aws-sdk/client-s3`)
 * doing the same multipart upload by hand (same part size, one part at a time, no checksums,
 * no verification), and one streaming `PutObject` of the whole file. The store is reported
 * twice: up to the completed multipart upload (the send, from the progress it reports), and
 * the whole `upload()` with its verification. Rounds alternate the order of the three; the
 * median of each is reported, as MiB/s of the file's size, and as CPU seconds of this process
 * (s3rver's share is the same for every side, so a difference is the client's; CPU time depends
 * less than wall time on what else the machine runs).
 *
 * s3rver runs in this process, so it shares the CPU with whichever client runs; the three
 * sides pay that alike.
 *
 * Env: EARSHOT_BENCH_S3_MB (256), EARSHOT_BENCH_S3_ROUNDS (5).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { PART_BYTES, s3Store } from '../../controller/src/modules/storage/s3-store.js';
import { startS3, type TestS3 } from '../support/s3.js';
import { tempDir } from '../support/tmp.js';
import type { BenchRow } from './report.js';

const MIB = 1024 * 1024;
const BUCKET = 'bench';

function log(message: string): void {
  console.error(`  s3-copy: ${message}`);
}

function positiveInt(name: string, fallback: number): number {
  const value = Number(process.env[name] || fallback);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name}: expected a whole number ≥ 1`);
  return value;
}

/** A file of `bytes` random bytes (written 8 MiB at a time); its SHA-256. */
async function writeFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(path, 'w');
  try {
    for (let written = 0; written < bytes; ) {
      const chunk = randomBytes(Math.min(8 * MIB, bytes - written));
      hash.update(chunk);
      await handle.write(chunk);
      written += chunk.length;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

async function slice(path: string, start: number, end: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(end - start);
    let read = 0;
    while (read < buffer.length) {
      const { bytesRead } = await handle.read(buffer, read, buffer.length - read, start + read);
      if (bytesRead === 0) throw new Error('the file ended early');
      read += bytesRead;
    }
    return buffer;
  } finally {
    await handle.close();
  }
}

function plainClient(s3: TestS3): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** The plain SDK: create, the parts one at a time (same size, no checksums), complete. */
async function plainMultipart(client: S3Client, Key: string, path: string, size: number): Promise<void> {
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key }));
  const UploadId = created.UploadId;
  const Parts: { PartNumber: number; ETag: string }[] = [];
  for (let n = 1; (n - 1) * PART_BYTES < size; n++) {
    const Body = await slice(path, (n - 1) * PART_BYTES, Math.min(size, n * PART_BYTES));
    const answer = await client.send(
      new UploadPartCommand({ Bucket: BUCKET, Key, UploadId, PartNumber: n, Body }),
    );
    Parts.push({ PartNumber: n, ETag: answer.ETag ?? '' });
  }
  await client.send(
    new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key, UploadId, MultipartUpload: { Parts } }),
  );
}

/** The plain SDK: one PutObject streaming the whole file. */
async function plainPut(client: S3Client, Key: string, path: string, size: number): Promise<void> {
  await client.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key,
      Body: createReadStream(path, { highWaterMark: MIB }),
      ContentLength: size,
    }),
  );
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

type Side = 'store' | 'multipart' | 'put';

/** CPU seconds (user + system, all threads) of this process since `start`. */
function cpuSeconds(start: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1e6;
}

export async function s3CopyBench(): Promise<BenchRow[]> {
  const megabytes = positiveInt('EARSHOT_BENCH_S3_MB', 256);
  const rounds = positiveInt('EARSHOT_BENCH_S3_ROUNDS', 5);
  const size = megabytes * MIB;
  const dir = await tempDir('bench-s3');
  const s3 = await startS3([BUCKET]);
  const client = plainClient(s3);
  const store = s3Store(
    {
      kind: 's3',
      endpoint: s3.endpoint,
      region: 'us-east-1',
      bucket: BUCKET,
      prefix: 'store',
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    },
    { timeoutMs: 300_000 },
  );
  const seconds: Record<Side | 'storeSend', number[]> = { store: [], storeSend: [], multipart: [], put: [] };
  const cpu: Record<Side | 'storeSend', number[]> = { store: [], storeSend: [], multipart: [], put: [] };
  try {
    const path = join(dir.path, 'recording.wav');
    const sha256 = await writeFile(path, size);
    log(`${megabytes} MiB file, ${Math.ceil(size / PART_BYTES)} parts of ${PART_BYTES / MIB} MiB`);
    const sides: Record<Side, (key: string) => Promise<void>> = {
      store: async (key) => {
        const started = performance.now();
        const cpuStarted = process.cpuUsage();
        let sent: number | undefined;
        const outcome = await store.upload(
          key,
          { path, size, sha256 },
          {
            resume: null,
            save: async (state) => {
              if (state !== null) return;
              sent = (performance.now() - started) / 1000;
              cpu.storeSend.push(cpuSeconds(cpuStarted));
            },
          },
          new AbortController().signal,
        );
        if (sent === undefined) throw new Error('the store never reported the upload complete');
        seconds.storeSend.push(sent);
        if (outcome.verifiedBy !== 'reread') log(`verified by ${outcome.verifiedBy}`);
      },
      multipart: (key) => plainMultipart(client, key, path, size),
      put: (key) => plainPut(client, key, path, size),
    };
    const order: Side[] = ['store', 'multipart', 'put'];
    for (let round = 0; round < rounds; round++) {
      // Each round starts with another side, so none always gets the coldest or warmest server.
      const turn = order.map((_, i) => order[(i + round) % order.length]!);
      for (const side of turn) {
        const key = `${side}-${round}.wav`;
        const started = performance.now();
        const cpuStarted = process.cpuUsage();
        await sides[side](side === 'store' ? key : `plain/${key}`);
        seconds[side].push((performance.now() - started) / 1000);
        cpu[side].push(cpuSeconds(cpuStarted));
        await client.send(
          new DeleteObjectCommand({
            Bucket: BUCKET,
            Key: side === 'store' ? `store/${key}` : `plain/${key}`,
          }),
        );
      }
      log(
        `round ${round + 1}: store ${seconds.store.at(-1)!.toFixed(2)} s (sent in ${seconds.storeSend.at(-1)!.toFixed(2)} s), ` +
          `SDK multipart ${seconds.multipart.at(-1)!.toFixed(2)} s, SDK PutObject ${seconds.put.at(-1)!.toFixed(2)} s ` +
          `(CPU: store ${cpu.store.at(-1)!.toFixed(2)} s, sent ${cpu.storeSend.at(-1)!.toFixed(2)} s, ` +
          `multipart ${cpu.multipart.at(-1)!.toFixed(2)} s, PutObject ${cpu.put.at(-1)!.toFixed(2)} s)`,
      );
    }
  } finally {
    store.close();
    client.destroy();
    await s3.stop();
    await dir.cleanup();
  }
  const rate = (side: keyof typeof seconds) => megabytes / median(seconds[side]);
  const multipart = rate('multipart');
  const row = (subject: string, value: number, reference: { subject: string; value: number }): BenchRow => ({
    bench: 's3-copy',
    subject,
    metric: `${megabytes} MiB to s3rver`,
    value,
    unit: 'MiB/s',
    reference: { ...reference, ratio: value / reference.value },
  });
  const sdkMultipart = { subject: `SDK multipart (${PART_BYTES / MIB} MiB parts)`, value: multipart };
  const cpuRow = (subject: string, side: keyof typeof cpu): BenchRow => {
    const value = median(cpu[side]);
    const reference = median(cpu.multipart);
    return {
      bench: 's3-copy',
      subject,
      metric: 'CPU, client + s3rver (one process)',
      value,
      unit: 's',
      reference: { subject: sdkMultipart.subject, value: reference, ratio: value / reference },
    };
  };
  return [
    row('store upload(): parts sent, with SHA-256 each', rate('storeSend'), sdkMultipart),
    row('store upload(): sent + verified (read back)', rate('store'), sdkMultipart),
    row('SDK PutObject (one stream)', rate('put'), sdkMultipart),
    cpuRow('store upload(): parts sent, with SHA-256 each', 'storeSend'),
    cpuRow('store upload(): sent + verified (read back)', 'store'),
  ];
}
