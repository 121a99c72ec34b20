/**
 * The one implementation behind every settings family (settings-family.ts): objects checked by
 * their family's schema and rules, every change a numbered revision (create, update, rollback,
 * delete) written with its audit event (before/after) in one transaction, history, rollback to
 * any revision as a new one, and a delete refused while the family says the object is in use.
 * Settings are fleet-wide: the routes require settings:read / settings:manage over the fleet.
 */

import { randomUUID } from 'node:crypto';
import { Compile } from 'typebox/compile';
import type { AuditInput, AuditWriter } from '../../core/audit.types.js';
import type { AuditAction } from '../../core/audit-actions.js';
import type { ChangeFeed } from '../../core/change-feed.js';
import { badRequest, conflict, notFound } from '../../core/errors.js';
import type { NodeNotifier } from '../../core/node-commands.js';
import type { PagePosition } from '../../core/page-position.js';
import { actorOf, type CallContext, type Principal } from '../../core/principal.js';
import type { ExportSummary } from '../../core/table-export.js';
import type { Db, Tx } from '../../db/client.js';
import { isUniqueViolation } from '../../db/unique.js';
import type { SettingsRepository, SettingsRow } from './settings.repository.js';
import type { SettingsFamily, SettingsUser } from './settings-family.js';
import { SettingsReferences } from './settings-references.js';
import { type RevisionAction, refuseAudited, SettingsRevisions } from './settings-revisions.js';
import { redacted, type SettingsSecrets, storedBodySchema } from './settings-secrets.js';

type Body = Record<string, unknown>;
/** What a revision records: the object's state after it. */
interface State {
  name: string;
  body: Body;
}

/** An object as anyone may see it (its family's secrets redacted). */
export function presentSettings(row: SettingsRow, family: SettingsFamily) {
  return {
    id: row.id,
    family: row.family,
    name: row.name,
    body: redacted(family, JSON.parse(row.body) as Body),
    revision: row.revision,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
export type SettingsView = ReturnType<typeof presentSettings>;

const stateOf = (row: { name: string; body: string }): State => ({
  name: row.name,
  body: JSON.parse(row.body) as Body,
});

export class SettingsService {
  private readonly validators = new Map<string, ReturnType<typeof Compile>>();
  private readonly revisions: SettingsRevisions;
  private readonly references: SettingsReferences;

  constructor(
    private readonly options: {
      db: Db;
      repo: SettingsRepository;
      audit: AuditWriter;
      now: () => Date;
      families: readonly SettingsFamily[];
      /** Nudges an agent (config-changed) when an object its node uses changes. */
      notifyNode?: NodeNotifier;
      /** Seals the families' secret fields (settings-secrets.ts). */
      secrets: SettingsSecrets;
      /** Where each committed change is announced (`settings.changed`: family, name, revision, action). */
      changes?: ChangeFeed;
    },
  ) {
    for (const f of options.families) this.validators.set(f.name, Compile(storedBodySchema(f)));
    this.references = new SettingsReferences(options.repo, options.families);
    this.revisions = new SettingsRevisions(options.repo, options.now);
  }

  get families(): readonly SettingsFamily[] {
    return this.options.families;
  }

  async find(family: SettingsFamily, id: string): Promise<SettingsRow> {
    const row = await this.options.repo.find(family.name, id);
    if (!row) throw notFound(family.title);
    return row;
  }

  list(family: SettingsFamily, q: string | undefined, limit: number, after?: PagePosition) {
    return this.options.repo.list(family.name, q, limit, after);
  }

  listByIds(family: SettingsFamily, ids: string[]) {
    return this.options.repo.findMany(family.name, ids);
  }

  /** A page of the revisions, oldest first: who made each, when, the state before and after. */
  async history(family: SettingsFamily, id: string, limit: number, after?: number) {
    await this.find(family, id);
    const shown = (state: State) => ({ name: state.name, body: redacted(family, state.body) });
    const page = await this.revisions.history(id, limit, after);
    return {
      data: page.data.map((entry) => ({
        ...entry,
        before: entry.before && shown(entry.before),
        after: shown(entry.after),
      })),
      nextCursor: page.nextCursor,
    };
  }

  /** What the caller can do with the object now, each with the reason when not. */
  async actions(family: SettingsFamily, id: string, principal: Principal) {
    const row = await this.find(family, id);
    const manage = principal.kind === 'user' && principal.access.hasFleet('settings:manage');
    const users = await this.usersOf(family, row);
    const gate = (ok: boolean, why: string) =>
      !manage
        ? { allowed: false, reason: 'needs settings:manage over the fleet' }
        : { allowed: ok, reason: ok ? null : why };
    return {
      update: gate(true, ''),
      delete: gate(users.length === 0, `in use by ${describeUsers(users)}`),
      rollback: gate(row.revision > 1, 'there is no earlier revision'),
    };
  }

  async create(family: SettingsFamily, input: { name: string; body?: Body }, ctx: CallContext) {
    const base = this.event(ctx, family, 'settings.create', null);
    const state = await this.valid(base, family, {
      name: input.name,
      body: { ...family.defaults, ...input.body },
    });
    const id = randomUUID();
    const body = await this.options.secrets.seal(family, id, state.body, input.body);
    const created = await this.write(base, family, state.name, async (tx) => {
      const row = await this.options.repo.create(tx, {
        id,
        family: family.name,
        name: state.name,
        body: JSON.stringify(body),
        createdBy: actorOf(ctx.principal).id ?? null,
      });
      await this.revise(tx, ctx, row, 'create', null);
      await this.options.audit.record(tx, { ...base, target: targetOf(row), after: audited(family, state) });
      return row;
    });
    this.announce(created, 'create');
    if (family.everyAgent) await this.nudgeUsers(family, created); // a new object has no other users
    return created;
  }

  /** Changes the name and/or some body fields (the rest are kept): a new revision. */
  async update(
    family: SettingsFamily,
    id: string,
    input: { name?: string; body?: Body; reason?: string },
    ctx: CallContext,
  ) {
    const base = this.event(ctx, family, 'settings.update', id);
    const current = await this.refusing(base, this.find(family, id));
    const was = stateOf(current);
    const state = await this.valid(
      base,
      family,
      {
        name: input.name ?? was.name,
        body: { ...was.body, ...input.body },
      },
      id,
    );
    const body = await this.options.secrets.seal(family, id, state.body, input.body);
    return this.change(base, family, current, { ...state, body }, 'update', input.reason ?? null, ctx);
  }

  /** Restores the body of an earlier revision as a new revision (the name is kept). */
  async rollback(
    family: SettingsFamily,
    id: string,
    input: { revision: number; reason?: string },
    ctx: CallContext,
  ) {
    const base = this.event(ctx, family, 'settings.rollback', id);
    const current = await this.refusing(base, this.find(family, id));
    const target = await this.options.repo.revision(id, input.revision);
    if (!target || target.revision >= current.revision || target.action === 'delete') {
      return this.refuse(base, notFound(`revision ${input.revision} before the current one`));
    }
    const state = await this.valid(base, family, { name: current.name, body: stateOf(target).body }, id);
    const reason = input.reason ?? `rollback to revision ${input.revision}`;
    return this.change(base, family, current, state, 'rollback', reason, ctx);
  }

  async delete(family: SettingsFamily, id: string, ctx: CallContext): Promise<void> {
    const base = this.event(ctx, family, 'settings.delete', id);
    const current = await this.refusing(base, this.find(family, id));
    const users = await this.usersOf(family, current);
    if (users.length > 0) {
      return this.refuse(
        base,
        conflict(`The ${family.title} "${current.name}" is in use by ${describeUsers(users)}.`, { users }),
      );
    }
    await this.write(base, family, current.name, async (tx) => {
      if (!(await this.options.repo.delete(tx, id, current.revision))) throw changedMeanwhile(family);
      await this.revise(tx, ctx, { ...current, revision: current.revision + 1 }, 'delete', null);
      await this.options.audit.record(tx, {
        ...base,
        before: audited(family, stateOf(current)),
        after: undefined,
      });
    });
    this.announce({ ...current, revision: current.revision + 1 }, 'delete');
    if (family.everyAgent) await this.nudgeUsers(family, current);
  }

  /** An export leaves the controller: audited once, with the family, how many and the format. */
  async recordExport(family: SettingsFamily, ctx: CallContext, summary: ExportSummary) {
    await this.options.audit.recordAlone({
      ...this.event(ctx, family, 'settings.export', null),
      permission: 'settings:read',
      target: null,
      after: { family: family.name, ...summary },
    });
  }

  private async change(
    base: AuditInput,
    family: SettingsFamily,
    current: SettingsRow,
    state: State,
    action: 'update' | 'rollback',
    reason: string | null,
    ctx: CallContext,
  ): Promise<SettingsRow> {
    const row = await this.write(base, family, state.name, async (tx) => {
      const row = await this.options.repo.update(tx, current.id, current.revision, {
        name: state.name,
        body: JSON.stringify(state.body),
      });
      if (!row) throw changedMeanwhile(family);
      await this.revise(tx, ctx, row, action, reason);
      await this.options.audit.record(tx, {
        ...base,
        reason,
        before: audited(family, stateOf(current)),
        after: audited(family, state),
      });
      return row;
    });
    this.announce(row, action);
    await this.nudgeUsers(family, row);
    return row;
  }

  /** A committed change on the change feed: which object, its revision and what happened (never its body). */
  private announce(
    row: Pick<SettingsRow, 'id' | 'family' | 'name' | 'revision'>,
    action: RevisionAction,
  ): void {
    this.options.changes?.publish({
      type: 'settings.changed',
      at: this.options.now(),
      scope: { siteId: null, nodeId: null },
      subject: { type: 'settings', id: row.id },
      data: { family: row.family, name: row.name, revision: row.revision, action },
    });
  }

  /** The object's state checked by its family's schema and rules: a 400 (audited) otherwise. */
  private async valid(base: AuditInput, family: SettingsFamily, state: State, id?: string): Promise<State> {
    const validator = this.validators.get(family.name)!;
    const problems = validator.Check(state.body)
      ? [...(family.rules?.(state.body) ?? []), ...(await this.references.missing(family, state.body))]
      : [...validator.Errors(state.body)].map(
          (e) => `body${e.instancePath.replaceAll('/', '.')}: ${e.message}`,
        );
    // Rules that need the database (what the object's users allow), once the body itself is valid.
    if (problems.length === 0 && family.check)
      problems.push(...(await family.check({ id: id ?? null, body: state.body }, this.options.db)));
    if (problems.length === 0) return state;
    return this.refuse(
      base,
      badRequest(`The ${family.title} is not valid: ${problems.join('; ')}`, { problems }),
    );
  }

  private async usersOf(family: SettingsFamily, row: SettingsRow): Promise<SettingsUser[]> {
    const nodes = family.nodeSetting ? await this.options.repo.nodesUsing(family.nodeSetting, row.id) : [];
    const others = family.inUse ? await family.inUse({ id: row.id, ...stateOf(row) }, this.options.db) : [];
    const referrers = await this.references.referrers(family, row.id);
    return [...nodes.map((n) => ({ type: 'node', id: n.id, name: n.name })), ...others, ...referrers];
  }

  /** The current object of a family, as agents and other modules read it; undefined when gone. */
  async current(familyName: string, id: string) {
    const row = await this.options.repo.find(familyName, id);
    return row ? { id: row.id, name: row.name, revision: row.revision, body: stateOf(row).body } : undefined;
  }

  /** Every current object of a family (a runner reading its policies), secrets still sealed. */
  async all(familyName: string) {
    const rows = await this.options.repo.list(familyName, undefined, 10_000);
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      revision: row.revision,
      body: stateOf(row).body,
    }));
  }

  /**
   * The current object with its secrets opened, to act on it (copy a recording to an upload
   * provider); undefined when gone. Never answered to a caller or logged.
   */
  async opened(familyName: string, id: string) {
    const row = await this.options.repo.find(familyName, id);
    const family = this.options.families.find((f) => f.name === familyName);
    if (!row || !family) return undefined;
    const body = await this.options.secrets.open(family, row.id, stateOf(row).body);
    return { id: row.id, name: row.name, body };
  }

  /** After a change: the agents of the nodes using the object refetch their config (best effort). */
  private async nudgeUsers(family: SettingsFamily, row: SettingsRow): Promise<void> {
    const { notifyNode } = this.options;
    if (!notifyNode) return;
    // The nodes among its users (naming it, or named by the family's own in-use check), or all.
    const nodes = family.everyAgent?.(stateOf(row).body)
      ? await this.options.repo.nodesInService()
      : (await this.usersOf(family, row)).filter((u) => u.type === 'node');
    await Promise.all(nodes.map((n) => notifyNode(n.id, 'config-changed')));
  }

  private revise(tx: Tx, ctx: CallContext, row: SettingsRow, action: RevisionAction, reason: string | null) {
    const { id: objectId, family, revision, name, body } = row;
    return this.revisions.add(tx, ctx, { objectId, family, revision, action, name, body, reason });
  }

  /** One transaction; a refusal (bad input, conflict) is audited as a failed attempt. */
  private async write<T>(
    base: AuditInput,
    family: SettingsFamily,
    name: string,
    work: (tx: Tx) => Promise<T>,
  ): Promise<T> {
    return this.options.db
      .$transaction(work)
      .catch((error: unknown) =>
        this.refuse(
          base,
          isUniqueViolation(error) ? conflict(`A ${family.title} named "${name}" already exists.`) : error,
        ),
      );
  }

  private async refusing<T>(base: AuditInput, pending: Promise<T>): Promise<T> {
    return pending.catch((error: unknown) => this.refuse(base, error));
  }

  private refuse(base: AuditInput, error: unknown): Promise<never> {
    return refuseAudited(this.options.audit, base, error);
  }

  private event(
    ctx: CallContext,
    family: SettingsFamily,
    action: AuditAction,
    id: string | null,
  ): AuditInput {
    return {
      actor: actorOf(ctx.principal),
      permission: 'settings:manage',
      action,
      target: { type: 'settings_object', id },
      outcome: 'success',
      context: ctx.request,
      after: { family: family.name },
    };
  }
}

const audited = (family: SettingsFamily, state: State) => ({
  family: family.name,
  name: state.name,
  body: redacted(family, state.body),
});

const targetOf = (row: SettingsRow) => ({ type: 'settings_object', id: row.id });

const changedMeanwhile = (family: SettingsFamily) =>
  conflict(`The ${family.title} was changed meanwhile; reload it and try again.`);

function describeUsers(users: SettingsUser[]): string {
  const named = users.slice(0, 10).map((u) => `${u.type} ${u.name ?? u.id}`);
  return users.length > 10 ? `${named.join(', ')} and ${users.length - 10} more` : named.join(', ');
}
