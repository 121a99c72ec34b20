import type { Permission } from '../../../shared/src/permissions.js';
import type { RawTx, Tx } from '../db/client.js';
import type { AuditAction } from './audit-actions.js';
import type { CallContext } from './principal.js';

export type ActorType = 'user' | 'node' | 'system' | 'anonymous' | 'discord';
export type AuditOutcome = 'success' | 'denied' | 'failure';

export interface Actor {
  type: ActorType;
  id?: string | null;
  name?: string | null;
}

export interface RequestContext {
  requestId?: string;
  sourceIp?: string;
}

/**
 * Where an event belongs, for scoped auditors: an auditor over a site sees the events of its
 * nodes and what they own. Derived from the target when not given; fleet-wide events have none.
 */
export interface AuditScope {
  siteId?: string | null;
  nodeId?: string | null;
  guildId?: string | null;
}

export interface AuditInput {
  actor: Actor;
  permission?: Permission | null;
  /** From the catalog (core/audit-actions.ts), or the central `http.<method> <route>` denial. */
  action: AuditAction;
  target?: { type: string; id?: string | null } | null;
  outcome: AuditOutcome;
  reason?: string | null;
  before?: unknown;
  after?: unknown;
  context?: RequestContext;
  /** Set when the target alone does not say (e.g. a guild's signing records). */
  scope?: AuditScope;
}

/** What `AuditService.recordChange` needs besides the caller: the change itself. */
export type AuditChange = Pick<
  AuditInput,
  'permission' | 'action' | 'target' | 'reason' | 'before' | 'after' | 'scope'
>;

export const SYSTEM_ACTOR: Actor = { type: 'system', id: null, name: 'controller' };

/** What must change with certain events, in their transaction (`when` says which events). */
export interface AppendHook {
  when: (input: AuditInput) => boolean;
  run: (tx: Tx, input: AuditInput) => Promise<void>;
}

/**
 * What a service needs of the audit trail: write an event inside the change's transaction
 * (`record`, `recordChange`), or alone for what changes nothing else (`recordAlone`). The
 * audit module's service implements it; services depend on this, not on the module.
 */
export interface AuditWriter {
  record(tx: Tx, input: AuditInput): Promise<string>;
  /**
   * Runs `hook` in the transaction of every event appended from now on that it applies to,
   * after the event: for what must change with certain events (e.g. the access generation,
   * with every access change).
   */
  onAppend(hook: AppendHook): void;
  recordChange(tx: Tx, ctx: CallContext, change: AuditChange): Promise<string>;
  /**
   * `recordChange` in a raw transaction (db/raw.ts), as its last statement: the append commits
   * the transaction. For the hottest changes (a job claim); the change names its scope, and
   * no append hook may apply to it.
   */
  recordChangeAndCommit(
    tx: RawTx,
    ctx: CallContext,
    change: AuditChange & { scope: AuditScope },
  ): Promise<string>;
  recordAlone(input: AuditInput): Promise<string>;
}
