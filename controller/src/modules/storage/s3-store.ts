/**
 * The S3 adapter of the object store port (AWS S3 or any S3-compatible service: MinIO, Ceph,
 * s3rver…) with @aws-sdk/client-s3. Checksums are sent and checked only where the API
 * requires them: many S3-compatible services do not understand the SDK's newer defaults.
 * One attempt per call: whoever calls (the provider test, the upload queue) owns retries.
 *
 * A recording is copied in one PutObject up to `PART_BYTES`, else as a multipart upload whose
 * parts each carry their SHA-256 (the service checks each as it arrives); the upload id and the
 * parts stored are handed to the caller as they go, so a restarted controller sends only the
 * rest (lib-storage's Upload cannot resume an upload id, hence parts by hand). The copy is then
 * checked: the SHA-256 the service stored (the whole object's, or the multipart composite of
 * the parts') when it reports one, else the object is read back and hashed.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type UploadPartCommandOutput,
} from '@aws-sdk/client-s3';
import { digestOf } from './local-file.js';
import {
  CopyMismatchError,
  type LocalFile,
  type MultipartState,
  type ObjectStore,
  type ObjectStoreConfig,
  type ObjectStoreOptions,
  prefixedKey,
  type UploadProgress,
} from './object-store.js';

/**
 * Multipart part size: files up to it go in one PutObject. 16 MiB keeps a 1 GiB recording at 64
 * parts (S3 allows 10,000, at least 5 MiB each but the last) and one part in memory at a time.
 */
export const PART_BYTES = 16 * 1024 * 1024;

const base64Of = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

/** Bytes `start` to `end` (exclusive) of a file. */
async function slice(path: string, start: number, end: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(end - start);
    let read = 0;
    while (read < buffer.length) {
      const { bytesRead } = await handle.read(buffer, read, buffer.length - read, start + read);
      if (bytesRead === 0) throw new Error(`the file ended at ${start + read} bytes, before ${end}`);
      read += bytesRead;
    }
    return buffer;
  } finally {
    await handle.close();
  }
}

type S3Config = Extract<ObjectStoreConfig, { kind: 's3' }>;

export function s3Store(config: S3Config, options: ObjectStoreOptions): ObjectStore {
  const client = new S3Client({
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: options.timeoutMs, requestTimeout: options.timeoutMs },
  });
  const Bucket = config.bucket;
  const Key = (key: string) => prefixedKey(config.prefix, key);
  const access: BucketAccess = { client, bucket: Bucket, key: Key };
  return {
    location: `s3://${Bucket}/${prefixedKey(config.prefix, '')}`,
    async put(key, data, abortSignal) {
      await client.send(new PutObjectCommand({ Bucket, Key: Key(key), Body: data }), { abortSignal });
    },
    async get(key, abortSignal) {
      const answer = await client.send(new GetObjectCommand({ Bucket, Key: Key(key) }), { abortSignal });
      if (!answer.Body) throw new Error('the object came back without a body');
      return answer.Body.transformToByteArray();
    },
    async delete(key, abortSignal) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: Key(key) }), { abortSignal });
    },
    async upload(key, file, progress, abortSignal) {
      if (file.size <= PART_BYTES) {
        await client.send(
          new PutObjectCommand({
            Bucket,
            Key: Key(key),
            Body: await slice(file.path, 0, file.size),
            ChecksumSHA256: base64Of(file.sha256),
          }),
          { abortSignal },
        );
        return verifyCopy(access, key, file, [], abortSignal);
      }
      const parts = await sendParts(access, key, file, progress, abortSignal);
      return verifyCopy(access, key, file, parts, abortSignal);
    },
    verify(key, file, abortSignal) {
      return readBack(access, key, file, abortSignal);
    },
    async abandon(key, state, abortSignal) {
      await client.send(new AbortMultipartUploadCommand({ Bucket, Key: Key(key), UploadId: state.id }), {
        abortSignal,
      });
    },
    close() {
      client.destroy();
    },
  };
}

/** A bucket and key prefix as the helpers below reach them. */
interface BucketAccess {
  client: S3Client;
  bucket: string;
  key: (key: string) => string;
}

/** The parts not stored yet, then the completion; resumes `progress.resume` unless the service lost it. */
async function sendParts(
  b: BucketAccess,
  key: string,
  file: LocalFile,
  progress: UploadProgress,
  abortSignal: AbortSignal,
) {
  let state: MultipartState | null = progress.resume;
  if (!state) {
    const created = await b.client.send(
      new CreateMultipartUploadCommand({ Bucket: b.bucket, Key: b.key(key), ChecksumAlgorithm: 'SHA256' }),
      { abortSignal },
    );
    if (!created.UploadId) throw new Error('the service started a multipart upload without an id');
    state = { id: created.UploadId, parts: [] };
    await progress.save(state, 0);
  }
  const count = Math.ceil(file.size / PART_BYTES);
  const stored = new Set(state.parts.map((p) => p.n));
  for (let n = 1; n <= count; n++) {
    if (stored.has(n)) continue;
    const end = Math.min(file.size, n * PART_BYTES);
    const body = await slice(file.path, (n - 1) * PART_BYTES, end);
    const sha256 = sha256Hex(body);
    const answer: UploadPartCommandOutput = await b.client.send(
      new UploadPartCommand({
        Bucket: b.bucket,
        Key: b.key(key),
        UploadId: state.id,
        PartNumber: n,
        Body: body,
        ChecksumSHA256: base64Of(sha256),
      }),
      { abortSignal },
    );
    if (!answer.ETag) throw new Error(`the service stored part ${n} without an ETag`);
    state = { id: state.id, parts: [...state.parts, { n, etag: answer.ETag, sha256 }] };
    await progress.save(state, end);
  }
  const parts = [...state.parts].sort((x, y) => x.n - y.n);
  await b.client.send(
    new CompleteMultipartUploadCommand({
      Bucket: b.bucket,
      Key: b.key(key),
      UploadId: state.id,
      MultipartUpload: {
        Parts: parts.map((p) => ({ PartNumber: p.n, ETag: p.etag, ChecksumSHA256: base64Of(p.sha256) })),
      },
    }),
    { abortSignal },
  );
  await progress.save(null, file.size);
  return parts;
}

/** The object is the file: its size, then the stored SHA-256 when there is one, else read back. */
async function verifyCopy(
  b: BucketAccess,
  key: string,
  file: LocalFile,
  parts: MultipartState['parts'],
  abortSignal: AbortSignal,
): Promise<{ verifiedBy: 'checksum' | 'reread' }> {
  const head = await b.client.send(
    new HeadObjectCommand({ Bucket: b.bucket, Key: b.key(key), ChecksumMode: 'ENABLED' }),
    {
      abortSignal,
    },
  );
  if (head.ContentLength !== undefined && head.ContentLength !== file.size)
    throw new CopyMismatchError(`the object holds ${head.ContentLength} bytes, the recording ${file.size}`);
  // A multipart object's stored checksum is the composite: the SHA-256 of its parts' digests.
  const expected =
    parts.length === 0
      ? base64Of(file.sha256)
      : `${base64Of(sha256Hex(Buffer.concat(parts.map((p) => Buffer.from(p.sha256, 'hex')))))}-${parts.length}`;
  if (head.ChecksumSHA256) {
    if (head.ChecksumSHA256 !== expected)
      throw new CopyMismatchError(`the object's SHA-256 is ${head.ChecksumSHA256}, not the recording's`);
    return { verifiedBy: 'checksum' };
  }
  await readBack(b, key, file, abortSignal);
  return { verifiedBy: 'reread' };
}

async function readBack(
  b: BucketAccess,
  key: string,
  file: LocalFile,
  abortSignal: AbortSignal,
): Promise<void> {
  const object = await b.client
    .send(new GetObjectCommand({ Bucket: b.bucket, Key: b.key(key) }), { abortSignal })
    .catch((error: Error) => {
      throw error.name === 'NoSuchKey' ? new CopyMismatchError(`the object ${b.key(key)} is gone`) : error;
    });
  if (!object.Body) throw new Error('the object came back without a body');
  const copy = await digestOf(object.Body as Readable);
  if (copy.sha256 !== file.sha256 || copy.size !== file.size)
    throw new CopyMismatchError(
      `the object read back is not the recording (${copy.size} bytes, SHA-256 ${copy.sha256})`,
    );
}

const sha256Hex = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
