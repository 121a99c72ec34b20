/**
 * The controller's change feed: what changed, announced after its transaction committed, to the
 * modules that act on changes elsewhere (live events to browsers, notifications). In-process and
 * per replica: a listener hears the changes this process made; what must survive a crash or reach
 * other replicas, the listener writes down itself. Publishing never throws at the caller and never
 * waits for a listener: a listener's failure is logged, and the change stands.
 */
import { LIVE_EVENT_TYPES, type LiveEventType } from '../../../shared/src/live-events.js';
import type { Logger } from './logger.js';

/**
 * The kinds of change, named `<subject>.<what happened>` (not audit actions, though they look
 * alike: the audit catalog's source scan skips these): the live events' types, an API contract
 * the console shares (shared/src/live-events.ts).
 */
export const CHANGE_TYPES = LIVE_EVENT_TYPES;
export type ChangeType = LiveEventType;

export interface Change {
  type: ChangeType;
  at: Date;
  /** Who may see it: a node's site (and the node), or neither for a fleet-wide change. */
  scope: { siteId: string | null; nodeId: string | null };
  /** What changed: e.g. `{ type: 'recording', id }`. */
  subject: { type: string; id: string };
  /** The change's facts, small and JSON-safe (no secrets): e.g. `{ state: 'completed' }`. */
  data: Record<string, unknown>;
}

export type ChangeListener = (change: Change) => void | Promise<void>;

export interface ChangeFeed {
  /** Announces a committed change to every listener; returns at once. */
  publish(change: Change): void;
  /** `listener` hears every change published from now on; the returned function stops that. */
  subscribe(listener: ChangeListener): () => void;
}

export function createChangeFeed(log: Pick<Logger, 'error'>): ChangeFeed {
  const listeners = new Set<ChangeListener>();
  const failed = (change: Change) => (err: unknown) =>
    log.error({ err, change: change.type }, 'a change feed listener failed');
  return {
    publish(change) {
      for (const listener of listeners) {
        try {
          const done = listener(change);
          if (done) done.catch(failed(change));
        } catch (err) {
          failed(change)(err);
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** For services built without a feed (tests of one service). */
export const NO_CHANGE_FEED: ChangeFeed = { publish: () => {}, subscribe: () => () => {} };
