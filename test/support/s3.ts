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
  /** Stops answering (the port is closed), keeping the buckets, until `resume`. */
  pause(): Promise<void>;
  /** Answers again, on the same port, with the same buckets and objects. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export async function startS3(buckets: string[]): Promise<TestS3> {
  const dir: TempDir = await tempDir('s3rver');
  const serve = async (port: number) => {
    const server = new S3rver({
      port,
      address: '127.0.0.1',
      silent: true,
      directory: dir.path,
      configureBuckets: buckets.map((name) => ({ name })),
    });
    return { server, port: (await server.run()).port };
  };
  let running: { server: S3rver; port: number } | undefined = await serve(0);
  const port = running.port;
  const pause = async () => {
    await running?.server.close();
    running = undefined;
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    directory: dir.path,
    pause,
    resume: async () => {
      running ??= await serve(port);
    },
    stop: async () => {
      await pause();
      await dir.cleanup();
    },
  };
}
