/**
 * The audit writer. `record` runs inside the caller's transaction, so the event and
 * the change commit or roll back together; `recordAlone` is for denials and failed
 * attempts, which change nothing else.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ScopeFilter } from '../../core/access-set.js';
import type { AppendHook, AuditChange, AuditInput, AuditScope, AuditWriter } from '../../core/audit.types.js';
import { auditActionNames, auditActionsStartingWith } from '../../core/audit-actions.js';
import { hidden, notFound } from '../../core/errors.js';
import { actorOf, type CallContext } from '../../core/principal.js';
import type { Db, Tx } from '../../db/client.js';
import type { RawTx } from '../../db/raw.js';
import {
  type AuditFilter,
  type AuditPlace,
  type AuditRepository,
  type AuditRow,
  type AuditSelection,
  FACET_FIELDS,
  type FacetCount,
  type FacetField,
  type NewAuditRow,
} from './audit.repository.js';
import { type AuditExportFormat, EXPORT_CONTENT_TYPES, exportStream } from './audit-export.js';
import { canonicalAuditFields, GENESIS_HASH, hashAuditEvent } from './audit-hash.js';

const CHAIN_PAGE = 500;
/** Rows per query while streaming an export. */
const EXPORT_PAGE = 500;
/** Values listed per facet; the rest are left out (their events still count in `total`). */
const FACET_VALUES = 100;

export type AuditFacets = { total: number } & Record<FacetField, FacetCount[]>;

export interface AuditExport {
  stream: Readable;
  contentType: string;
  filename: string;
}

export interface ChainReport {
  ok: boolean;
  checked: number;
  /** The first event whose link is broken, and why. */
  brokenAt?: { seq: number; id: string; reason: string };
}

/** Whether an event is in `scope` (the list's, the detail's and the live notices' one rule). */
export function inScope(row: Pick<AuditRow, 'siteId' | 'nodeId' | 'guildId'>, scope: ScopeFilter): boolean {
  return (
    scope.all ||
    (row.siteId !== null && scope.siteIds.includes(row.siteId)) ||
    (row.nodeId !== null && scope.nodeIds.includes(row.nodeId)) ||
    (row.guildId !== null && scope.guildIds.includes(row.guildId))
  );
}

function json(value: unknown): string | null {
  return value === undefined
    ? null
    : JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

export class AuditService implements AuditWriter {
  constructor(
    private readonly db: Db,
    private readonly repo: AuditRepository,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * The hash of the last event this process appended: the next append's guess at the chain
   * head. Wrong only when another writer appended since (another replica on the same
   * PostgreSQL) or an append rolled back; the append checks it in the same statement and
   * then reads the real head, so a wrong guess costs a query, never a fork.
   */
  private head: string | undefined;
  private readonly hooks: AppendHook[] = [];

  onAppend(hook: AppendHook): void {
    this.hooks.push(hook);
  }

  async record(tx: Tx, input: AuditInput): Promise<string> {
    // The scope is a read of the target: before the chain lock, so the lock is held shorter.
    const scope = input.scope ?? (await this.repo.scopeOf(tx, input.target));
    const event = this.event(input, scope);
    // Serialises appends (PostgreSQL: across replicas too) until this transaction ends.
    await this.repo.lockChain(tx);
    if (this.head === undefined || !(await this.append(tx, event, this.head))) {
      const prevHash = (await this.repo.lastHash(tx)) ?? GENESIS_HASH;
      if (!(await this.append(tx, event, prevHash)))
        throw new Error('the audit chain head moved while this transaction held the chain lock');
    }
    for (const hook of this.hooks) if (hook.when(input)) await hook.run(tx, input);
    return event.id;
  }

  private event(input: AuditInput, scope: AuditScope): Omit<NewAuditRow, 'prevHash' | 'hash'> {
    return {
      id: randomUUID(),
      // Millisecond precision survives both databases unchanged, so the hash re-verifies.
      at: new Date(Math.floor(this.now().getTime())),
      actorType: input.actor.type,
      actorId: input.actor.id ?? null,
      actorName: input.actor.name ?? null,
      permission: input.permission ?? null,
      action: input.action,
      targetType: input.target?.type ?? null,
      targetId: input.target?.id ?? null,
      outcome: input.outcome,
      reason: input.reason ?? null,
      before: json(input.before),
      after: json(input.after),
      requestId: input.context?.requestId ?? null,
      sourceIp: input.context?.sourceIp ?? null,
      siteId: scope.siteId ?? null,
      nodeId: scope.nodeId ?? null,
      guildId: scope.guildId ?? null,
    };
  }

  /**
   * `record` in a raw transaction, as its last statement. SQLite: the same guessed head, checked
   * in the statement (raw transactions and Prisma's take turns on the one connection, so the
   * head read after a wrong guess is the real one); the transaction commits when its function
   * returns. PostgreSQL: lock, head read, hash and commit in one round trip (the repository).
   */
  async recordAndCommit(tx: RawTx, input: AuditInput & { scope: AuditScope }): Promise<string> {
    if (this.hooks.some((hook) => hook.when(input)))
      throw new Error(`${input.action} has an append hook: record it in a Prisma transaction`);
    const event = this.event(input, input.scope);
    if (this.repo.provider === 'postgresql') {
      this.head = await this.repo.appendAndCommitRaw(tx, event, canonicalAuditFields(event), GENESIS_HASH);
      return event.id;
    }
    if (this.head === undefined || !(await this.appendRaw(tx, event, this.head))) {
      const prevHash = (await this.repo.lastHashRaw(tx)) ?? GENESIS_HASH;
      if (!(await this.appendRaw(tx, event, prevHash)))
        throw new Error('the audit chain head moved inside a raw transaction');
    }
    return event.id;
  }

  private async appendRaw(tx: RawTx, event: Omit<NewAuditRow, 'prevHash' | 'hash'>, prevHash: string) {
    const row = { ...event, prevHash };
    const hash = hashAuditEvent(row);
    if (!(await this.repo.appendRaw(tx, { ...row, hash }, GENESIS_HASH))) return false;
    this.head = hash;
    return true;
  }

  recordChangeAndCommit(
    tx: RawTx,
    ctx: CallContext,
    change: AuditChange & { scope: AuditScope },
  ): Promise<string> {
    return this.recordAndCommit(tx, {
      ...change,
      actor: actorOf(ctx.principal),
      outcome: 'success',
      context: ctx.request,
    });
  }

  private async append(tx: Tx, event: Omit<NewAuditRow, 'prevHash' | 'hash'>, prevHash: string) {
    const row = { ...event, prevHash };
    const hash = hashAuditEvent(row);
    if (!(await this.repo.append(tx, { ...row, hash }, GENESIS_HASH))) return false;
    this.head = hash;
    return true;
  }

  /**
   * A successful change made by the caller: the actor and request come from `ctx`; in
   * the change's transaction like every `record`.
   */
  recordChange(tx: Tx, ctx: CallContext, change: AuditChange): Promise<string> {
    return this.record(tx, {
      ...change,
      actor: actorOf(ctx.principal),
      outcome: 'success',
      context: ctx.request,
    });
  }

  recordAlone(input: AuditInput): Promise<string> {
    return this.db.$transaction((tx) => this.record(tx, input));
  }

  /** The newest event's `seq` (0 with none): where a live watch of the trail starts. */
  latestSeq(): Promise<number> {
    return this.repo.maxSeq();
  }

  /** Events appended after `seq`, oldest first, by their place only (who may read them). */
  appendedAfter(seq: number, limit: number): Promise<AuditPlace[]> {
    return this.repo.placesAfter(seq, limit);
  }

  async list(filter: AuditFilter, limit: number, beforeSeq?: number): Promise<AuditRow[]> {
    return this.repo.list(await this.resolved(filter), limit, beforeSeq);
  }

  /**
   * An action filter becomes the exact list of stored names it matches. Renamed actions are
   * stored under old and new names alike (rows are never rewritten), so a name matches both
   * (`AUDIT_ACTION_ALIASES`); a prefix matches what is stored under it and what the catalog
   * names under it, with their other names.
   */
  private async resolved(filter: AuditFilter): Promise<AuditFilter> {
    if (filter.actionPrefix !== undefined) {
      const { actionPrefix: prefix } = filter;
      const named = [
        ...(await this.repo.actionsStartingWith(prefix, filter.scope)),
        ...auditActionsStartingWith(prefix),
      ];
      return { ...filter, actionIn: [...new Set(named.flatMap(auditActionNames))] };
    }
    if (filter.action !== undefined) {
      const names = auditActionNames(filter.action);
      if (names.length > 1) return { ...filter, action: undefined, actionIn: names };
    }
    return filter;
  }

  /** One event, if it is in `scope`: 404 when there is none, a denial when it is outside. */
  async get(id: string, scope: ScopeFilter): Promise<AuditRow> {
    const row = await this.repo.get(id);
    if (!row) throw notFound('audit event');
    if (!inScope(row, scope)) throw hidden('audit event', { type: 'audit_event', id }, 'audit:read');
    return row;
  }

  /** Counts per action, outcome, actor type, permission and target type under `filter`. */
  async facets(query: AuditFilter): Promise<AuditFacets> {
    const filter = await this.resolved(query);
    const [total, ...counts] = await Promise.all([
      this.repo.count(filter),
      ...FACET_FIELDS.map((field) => this.repo.facet(field, filter, FACET_VALUES)),
    ]);
    return {
      total: total as number,
      ...(Object.fromEntries(FACET_FIELDS.map((field, i) => [field, counts[i]])) as Record<
        FacetField,
        FacetCount[]
      >),
    };
  }

  /**
   * Streams the selected events, newest first. Reading the audit log in bulk is a
   * privileged read, so the export itself is audited once, before any row leaves;
   * if that write fails, nothing is exported. The file covers the log as it was
   * when the export started (the export's own event and later ones are not in it).
   */
  async export(selection: AuditSelection, format: AuditExportFormat, ctx: CallContext): Promise<AuditExport> {
    const upToSeq = await this.repo.maxSeq();
    const at = this.now();
    await this.recordAlone({
      actor: actorOf(ctx.principal),
      permission: 'audit:read',
      action: 'audit.export',
      target: { type: 'audit_log' },
      outcome: 'success',
      after:
        'ids' in selection
          ? { format, ids: selection.ids.length, upToSeq }
          : { format, filter: selection.filter, upToSeq },
      context: ctx.request,
    });
    const repo = this.repo;
    const resolved: AuditSelection =
      'ids' in selection ? selection : { filter: await this.resolved(selection.filter) };
    async function* pages(): AsyncGenerator<AuditRow[]> {
      let beforeSeq: number | undefined;
      for (;;) {
        const page = await repo.exportPage(resolved, upToSeq, EXPORT_PAGE, beforeSeq);
        if (page.length > 0) yield page;
        if (page.length < EXPORT_PAGE) return;
        beforeSeq = page[page.length - 1]!.seq;
      }
    }
    const stamp = at.toISOString().replace(/[:.]/g, '-');
    return {
      stream: exportStream(format, pages()),
      contentType: EXPORT_CONTENT_TYPES[format],
      filename: `audit-events-${stamp}.${format}`,
    };
  }

  /** Walks the chain oldest first and reports the first broken link. */
  async verifyChain(): Promise<ChainReport> {
    let prevHash = GENESIS_HASH;
    let afterSeq = 0;
    let checked = 0;
    for (;;) {
      const page = await this.repo.page(afterSeq, CHAIN_PAGE);
      for (const row of page) {
        if (row.prevHash !== prevHash) {
          return {
            ok: false,
            checked,
            brokenAt: { seq: row.seq, id: row.id, reason: 'previous event missing or changed' },
          };
        }
        const { seq: _seq, hash, ...rest } = row;
        if (hashAuditEvent(rest) !== hash) {
          return {
            ok: false,
            checked,
            brokenAt: { seq: row.seq, id: row.id, reason: 'event content was edited' },
          };
        }
        prevHash = hash;
        checked++;
      }
      if (page.length < CHAIN_PAGE) return { ok: true, checked };
      afterSeq = page[page.length - 1]!.seq;
    }
  }
}
