/**
 * Keeps the offline cache fresh: fetches the node config and syncs the node's scheduled
 * occurrences (POST occurrences/sync, which also leases them to this node) at start, every
 * few minutes, on an MQTT (re)connect, and at once on a `config-changed` or
 * `schedule-changed` command. Each answer is saved (offline-cache.ts) before it is applied.
 * While the controller cannot be reached it retries with backoff; a credential the
 * controller rejects (401/403) is fatal and reported once.
 */
import type { NodeConfig, ScheduledOccurrence } from '../../../shared/src/agent-api.js';
import type { OfflineCache } from '../state/offline-cache.js';
import { Backoff, type BackoffOptions } from '../support/backoff.js';
import type { Logger } from '../support/log.js';
import type { ClockTracker } from './clock.js';
import { type AgentHttpClient, ApiError, describeError, isApiError } from './http-client.js';

/** How often the occurrences are synced when nothing asks sooner. */
export const SYNC_INTERVAL_MS = 5 * 60_000;

export interface ControllerSyncOptions {
  api: Pick<AgentHttpClient, 'config' | 'occurrenceSync'>;
  cache: Pick<OfflineCache, 'saveConfig' | 'saveOccurrences'>;
  clock: ClockTracker;
  log: Logger;
  /** Applies a new config (after it was saved); may throw to say it cannot apply now. */
  applyConfig: (config: NodeConfig) => Promise<void>;
  applyOccurrences: (occurrences: ScheduledOccurrence[]) => void;
  /** The controller rejected the credential: nothing a retry can fix. */
  onCredentialRejected: (error: Error) => void;
  /** Called when a refresh succeeds after failing ones (the controller is back). */
  onRecovered?: () => void;
  intervalMs?: number;
  backoff?: BackoffOptions;
  now?: () => number;
}

export function credentialRejected(error: unknown): Error | undefined {
  if (!(error instanceof ApiError) || (error.status !== 401 && error.status !== 403)) return undefined;
  return new Error(
    `the controller rejected this node's credential (${error.status} ${error.code}): ` +
      're-enroll with earshot-agent enroll --controller URL --token T',
  );
}

export class ControllerSync {
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private readonly backoff: Backoff;
  private refreshing: Promise<void> | undefined;
  private stopped = true;
  private failing = false;

  constructor(private readonly options: ControllerSyncOptions) {
    this.backoff = new Backoff({ baseMs: 1000, capMs: 60_000, ...options.backoff });
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Refreshes in the background at once, then keeps refreshing. */
  start(): void {
    this.stopped = false;
    void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
  }

  /** Config, then occurrences; never throws. Reschedules itself (sooner while failing). */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      clearTimeout(this.timer);
      let delayMs = this.options.intervalMs ?? SYNC_INTERVAL_MS;
      try {
        const config = await this.fetchConfig();
        await this.options.applyConfig(config).catch((error: unknown) => {
          this.options.log.warn(`node config saved; it applies later: ${describeError(error)}`);
        });
        await this.syncOccurrences();
        if (this.failing) {
          this.options.log.info('controller reachable again: config and schedule refreshed');
          this.options.onRecovered?.();
        }
        this.failing = false;
        this.backoff.reset();
      } catch (error) {
        if (this.stopped) return;
        const rejected = credentialRejected(error);
        if (rejected) {
          this.options.onCredentialRejected(rejected);
          return;
        }
        if (!this.failing) {
          this.options.log.warn(`controller not reachable; working from the cache: ${describeError(error)}`);
        }
        this.failing = true;
        delayMs = Math.min(delayMs, this.backoff.next());
      } finally {
        this.refreshing = undefined;
      }
      if (!this.stopped) this.timer = setTimeout(() => void this.refresh(), delayMs);
    })();
    return this.refreshing;
  }

  /** GET config, save it, apply it (the `config-changed` command); throws on failure. */
  async refreshConfig(): Promise<void> {
    await this.options.applyConfig(await this.fetchConfig());
  }

  private async fetchConfig(): Promise<NodeConfig> {
    const config = await this.options.api.config(this.abort.signal);
    await this.options.cache.saveConfig(config, this.now());
    return config;
  }

  /** Sync the occurrences, save and apply them (the `schedule-changed` command); throws on failure. */
  async syncOccurrences(): Promise<void> {
    const sentAtMs = this.now();
    let result: Awaited<ReturnType<ControllerSyncOptions['api']['occurrenceSync']>>;
    try {
      result = await this.options.api.occurrenceSync(this.abort.signal);
    } catch (error) {
      // A controller without schedules (an older version): nothing to cache.
      if (isApiError(error, 404)) return;
      throw error;
    }
    const receivedAtMs = this.now();
    this.options.clock.record(sentAtMs, receivedAtMs, result.serverTimeMs);
    await this.options.cache.saveOccurrences({
      syncedAtMs: receivedAtMs,
      horizonEnd: result.horizonEnd,
      occurrences: result.occurrences,
    });
    this.options.applyOccurrences(result.occurrences);
  }
}
