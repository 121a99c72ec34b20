/** The part of aedes-persistence-redis (no bundled types) the clustered broker uses. */
declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis';

  export interface RedisPersistence {
    createRetainedStreamCombi(patterns: string[]): AsyncIterable<{ topic: string; payload: Buffer }>;
    delWill(client: { id: string; brokerId: string }): Promise<unknown>;
  }

  export default function persistence(options: { conn: Redis }): RedisPersistence;
}
