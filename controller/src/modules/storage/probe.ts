/**
 * Probing an object store: write a small object, read it back, compare, delete it. Each step
 * is timed and bounded (a store that hangs is a failed step, not a hung request), and each
 * failure says why in words. A failed write ends the probe; after a written object, the delete
 * is always tried, so a probe leaves nothing behind that it could remove.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ObjectStore } from './object-store.js';

export type ProbeStepName = 'write' | 'read' | 'compare' | 'delete';

export interface ProbeStep {
  step: ProbeStepName;
  ok: boolean;
  ms: number;
  error?: string;
}

export interface ProbeResult {
  ok: boolean;
  /** Where the probe wrote (a directory or `s3://bucket/prefix`). */
  location: string;
  steps: ProbeStep[];
}

/** The message of anything thrown, with the S3 error name and HTTP status when there are. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const name = error.name && error.name !== 'Error' ? `${error.name}: ` : '';
  const message = error.message || 'no message';
  return `${name}${message}${status ? ` (HTTP ${status})` : ''}`.slice(0, 500);
}

/** Runs `work` with a signal that aborts after `ms`; rejects at `ms` even if `work` ignores it. */
async function bounded<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`timed out after ${ms / 1000} s`));
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function probeObjectStore(
  store: ObjectStore,
  options: { timeoutMs: number; now?: () => number },
): Promise<ProbeResult> {
  const now = options.now ?? performance.now.bind(performance);
  const key = `earshot-probe-${randomUUID()}.bin`;
  const data = new Uint8Array(randomBytes(64));
  const steps: ProbeStep[] = [];
  const step = async <T>(name: ProbeStepName, work: (signal: AbortSignal) => Promise<T>) => {
    const started = now();
    try {
      const value = await bounded(options.timeoutMs, work);
      steps.push({ step: name, ok: true, ms: Math.round(now() - started) });
      return { ok: true as const, value };
    } catch (error) {
      steps.push({ step: name, ok: false, ms: Math.round(now() - started), error: describeError(error) });
      return { ok: false as const };
    }
  };

  if ((await step('write', (signal) => store.put(key, data, signal))).ok) {
    const read = await step('read', (signal) => store.get(key, signal));
    if (read.ok) {
      await step('compare', async () => {
        if (Buffer.compare(Buffer.from(read.value), Buffer.from(data)) !== 0)
          throw new Error(
            `read back ${read.value.byteLength} bytes that differ from the ${data.byteLength} written`,
          );
      });
    }
    await step('delete', (signal) => store.delete(key, signal));
  }
  return { ok: steps.every((s) => s.ok) && steps.length > 0, location: store.location, steps };
}
