/**
 * What a page reads from the API, while it is shown: the answer, the server's refusal in its own
 * words, and a reload; and the one way a page says it is loading, failed or has nothing. A late
 * answer to an older question (the page moved on) is dropped.
 */
import { type Signal, useSignal } from '@preact/signals';
import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { ApiError, allPages, api } from './api.js';
import { type LiveEvent, subscribe } from './events.js';

/** The server's refusal in its own words (or that it did not answer). */
export function failure(err: unknown): string {
  return err instanceof ApiError ? err.message : 'The controller did not answer.';
}

export interface Loaded<T> {
  /** The last answer (kept while a reload is under way or fails). */
  data: Signal<T | undefined>;
  error: Signal<string | undefined>;
  /** Reads again. */
  reload: () => void;
}

export interface LoadOptions {
  /** The last answer and error go when `deps` change or on reload (Loading… again). */
  clear?: boolean;
  /** What a 404 says instead of the server's words. */
  notFound?: string;
  /**
   * Read again (at most once a frame) on live events of these type prefixes, or a reset; `when`
   * picks among them.
   */
  live?: { prefixes: string[]; when?: (event: LiveEvent) => boolean };
}

/**
 * Runs `load` when shown, again when one of `deps` changes, on `reload()` and on the `live`
 * events asked for; `load` undefined reads nothing (yet).
 */
export function useLoaded<T>(
  load: (() => Promise<T>) | undefined,
  deps: readonly unknown[],
  { clear = false, notFound, live }: LoadOptions = {},
): Loaded<T> {
  const data = useSignal<T | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  const version = useSignal(0);
  useEffect(() => {
    if (!load) return;
    let stale = false;
    let frame: number | undefined;
    if (clear) {
      data.value = undefined;
      error.value = undefined;
    }
    const read = () => {
      frame = undefined;
      load().then(
        (answer) => {
          if (stale) return;
          data.value = answer;
          error.value = undefined;
        },
        (err: unknown) => {
          if (stale) return;
          error.value = notFound && err instanceof ApiError && err.status === 404 ? notFound : failure(err);
        },
      );
    };
    read();
    const offs = (live?.prefixes ?? []).map((prefix) =>
      subscribe(prefix, (event) => {
        if ((event === 'reset' || !live?.when || live.when(event)) && frame === undefined)
          frame = requestAnimationFrame(read);
      }),
    );
    return () => {
      stale = true;
      for (const off of offs) off();
      if (frame !== undefined) cancelAnimationFrame(frame);
    };
  }, [...deps, version.value]);
  return { data, error, reload: () => (version.value += 1) };
}

/** `GET path`'s `data` (see useLoaded); `path` undefined reads nothing. */
export function useResource<T>(path: string | undefined): Loaded<T> {
  return useLoaded(path === undefined ? undefined : () => api<{ data: T }>('GET', path).then((r) => r.data), [
    path,
  ]);
}

/** Every item of the paged list `GET path`, read page after page (see useLoaded). */
export function useAllPages<T>(path: string): Loaded<T[]> {
  return useLoaded(() => allPages<T>(path), [path]);
}

/**
 * The error, "Loading…" until the first answer, and `empty` when the answer is an empty list;
 * nothing else (the caller shows the data).
 */
export function LoadState<T>({
  of,
  loading = 'Loading…',
  empty,
}: {
  of: Pick<Loaded<T>, 'data' | 'error'>;
  loading?: string;
  empty?: ComponentChildren;
}) {
  const data = of.data.value;
  const error = of.error.value;
  return (
    <>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {data === undefined && !error && <p class="loading">{loading}</p>}
      {empty !== undefined && Array.isArray(data) && data.length === 0 && <p class="empty">{empty}</p>}
    </>
  );
}
