/**
 * A real S3-compatible endpoint for tests: s3rver (the S3 API on a folder) on a free port,
 * with the buckets asked for. It accepts the access key id `S3RVER` (with any secret).
 */
import S3rver from 's3rver';
import { type TempDir, tempDir } from './tmp.js';

export interface TestS3 {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The folder the buckets live in (a bucket is a sub-folder). */
  directory: string;
  stop(): Promise<void>;
}

export async function startS3(buckets: string[]): Promise<TestS3> {
  const dir: TempDir = await tempDir('s3rver');
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: dir.path,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    directory: dir.path,
    stop: async () => {
      await server.close();
      await dir.cleanup();
    },
  };
}
