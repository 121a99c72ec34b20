/**
 * Verifies the audit hash chain on a schedule (AUDIT_CHAIN_FIRST_CHECK_MS after start, then
 * every AUDIT_CHAIN_CHECK_MS) and when asked (GET /audit-events/verify), one walk at a time, and
 * announces every result to the listeners registered with `onVerified`: the health module,
 * built after this one, raises `audit_chain` when the chain is broken and resolves it once a
 * verification passes again. A listener's failure is its own (logged there), never the walk's.
 */
import type { AuditChainResult, AuditChainVerifications } from '../../core/health-alerts.js';
import type { Logger } from '../../core/logger.js';
import type { AuditService, ChainReport } from './audit.service.js';

/** A walk reads every event: often enough to notice within hours, rare enough to cost little. */
export const AUDIT_CHAIN_CHECK_MS = 6 * 3600_000;
/** The first walk after start, once start-up work has settled. */
export const AUDIT_CHAIN_FIRST_CHECK_MS = 60_000;

export class AuditChainWatch implements AuditChainVerifications {
  private readonly listeners: ((result: AuditChainResult) => Promise<void>)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private walking: Promise<ChainReport> | undefined;

  constructor(private readonly deps: { audit: Pick<AuditService, 'verifyChain'>; log: Logger }) {}

  onVerified(listener: (result: AuditChainResult) => Promise<void>): void {
    this.listeners.push(listener);
  }

  /** Walks the chain (or joins the walk under way) and announces the result. */
  verify(): Promise<ChainReport> {
    this.walking ??= this.walk().finally(() => {
      this.walking = undefined;
    });
    return this.walking;
  }

  start(): void {
    const check = () => {
      this.verify().catch((error) =>
        this.deps.log.warn({ err: error }, 'audit chain verification failed to run'),
      );
    };
    this.timer = setTimeout(() => {
      check();
      this.timer = setInterval(check, AUDIT_CHAIN_CHECK_MS);
      this.timer.unref();
    }, AUDIT_CHAIN_FIRST_CHECK_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    clearInterval(this.timer);
    await this.walking?.catch(() => undefined);
  }

  private async walk(): Promise<ChainReport> {
    const report = await this.deps.audit.verifyChain();
    if (!report.ok) this.deps.log.error({ brokenAt: report.brokenAt }, 'the audit chain is broken');
    for (const listener of this.listeners) await listener(report).catch(() => undefined);
    return report;
  }
}
