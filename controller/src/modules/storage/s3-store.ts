/**
 * The S3 adapter of the object store port (AWS S3 or any S3-compatible service: MinIO, Ceph,
 * s3rver…) with @aws-sdk/client-s3. Checksums are sent and checked only where the API
 * requires them: many S3-compatible services do not understand the SDK's newer defaults.
 * One attempt per call: whoever calls (the provider test, the upload queue) owns retries.
 */
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  type ObjectStore,
  type ObjectStoreConfig,
  type ObjectStoreOptions,
  prefixedKey,
} from './object-store.js';

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
    close() {
      client.destroy();
    },
  };
}
