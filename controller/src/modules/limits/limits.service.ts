/**
 * Rate-limit profiles (max requests per window) and their assignment to declared
 * routes, plus the in-memory table the HTTP limiter reads on every request. The
 * table is reloaded after each change here, and refreshed lazily when older than
 * TABLE_REFRESH_MS so changes made through another replica arrive too.
 */

import type { AuditInput, AuditWriter } from '../../core/audit.types.js';
import type { AuditAction } from '../../core/audit-actions.js';
import { AppError, badRequest, conflict, notFound } from '../../core/errors.js';
import { actorOf, type CallContext } from '../../core/principal.js';
import type { RouteInfo } from '../../core/routes.js';
import type { Db } from '../../db/client.js';
import { isUniqueViolation } from '../../db/unique.js';
import type { AssignmentRow, LimitsRepository, ProfileFields, ProfileRow } from './limits.repository.js';
import type { AssignmentBody, ProfileBody } from './limits.schemas.js';

/** How stale the enforcement table may get before a request triggers a background reload. */
const TABLE_REFRESH_MS = 15_000;
/** After a failed reload, the next request may try again this much later. */
const TABLE_RETRY_MS = 1_000;
/**
 * The limit admin routes cannot be limited themselves: a mistaken profile must
 * always be removable by the people who set it.
 */
const UNLIMITABLE_PREFIX = '/api/v1/admin/limits';
const PERMISSION = 'settings:manage';

/** What the limiter enforces on one route. */
export interface RouteLimit {
  /** Changes whenever the assignment or its profile changes, so counters restart. */
  version: string;
  max: number;
  windowMs: number;
}

const prismaCode = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;
const isForeignKeyViolation = (error: unknown) => prismaCode(error) === 'P2003';

export class LimitsService {
  private table = new Map<string, RouteLimit>();
  private refreshDueMs = 0;
  private reloading: Promise<void> | undefined;
  private stopped = false;

  private readonly db: Db;
  private readonly repo: LimitsRepository;
  private readonly audit: AuditWriter;
  /** The app's declared routes (grows while routes register). */
  private readonly routes: readonly RouteInfo[];
  private readonly now: () => Date;

  constructor(options: {
    db: Db;
    repo: LimitsRepository;
    audit: AuditWriter;
    routes: readonly RouteInfo[];
    now?: () => Date;
  }) {
    this.db = options.db;
    this.repo = options.repo;
    this.audit = options.audit;
    this.routes = options.routes;
    this.now = options.now ?? (() => new Date());
  }

  presentProfile(row: ProfileRow) {
    return {
      id: row.id,
      name: row.name,
      max: row.max,
      windowSeconds: row.windowSeconds,
      description: row.description,
      assignments: row._count.assignments,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }

  presentAssignment(row: AssignmentRow) {
    const { profile } = row;
    return {
      id: row.id,
      route: row.route,
      profile: { id: profile.id, name: profile.name, max: profile.max, windowSeconds: profile.windowSeconds },
      createdAt: row.createdAt.toISOString(),
    };
  }

  // ---- enforcement table ----

  /** The limit on `METHOD /url/pattern`, or undefined when the route is not limited. */
  limitFor(routeKey: string): RouteLimit | undefined {
    if (!this.stopped && !this.reloading && this.now().getTime() >= this.refreshDueMs) {
      void this.refreshTable();
    }
    return this.table.get(routeKey);
  }

  /** Reloads now; fails when the database does (at boot that should stop the start). */
  reload(): Promise<void> {
    this.refreshDueMs = this.now().getTime() + TABLE_REFRESH_MS;
    this.reloading ??= (async () => {
      try {
        const rows = await this.repo.allAssignments();
        this.table = new Map(
          rows.map((row) => [
            row.route,
            {
              version: `${row.id}:${row.profile.id}:${row.profile.updatedAt.getTime()}`,
              max: row.profile.max,
              windowMs: row.profile.windowSeconds * 1000,
            },
          ]),
        );
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  /** Reloads, keeping the current table on failure; the change is committed already and the next request retries. */
  private async refreshTable(): Promise<void> {
    try {
      await this.reload();
    } catch {
      this.refreshDueMs = this.now().getTime() + TABLE_RETRY_MS;
    }
  }

  /** No more background reloads (the database is about to close); waits for one in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.reloading?.catch(() => undefined);
  }

  // ---- reads ----

  listProfiles(limit: number, afterName?: string): Promise<ProfileRow[]> {
    return this.repo.listProfiles(limit, afterName);
  }

  listAssignments(limit: number, afterRoute?: string): Promise<AssignmentRow[]> {
    return this.repo.listAssignments(limit, afterRoute);
  }

  // ---- writes: each audited in its transaction; refusals audited alone ----

  async createProfile(body: ProfileBody, ctx: CallContext): Promise<ProfileRow> {
    const fields = this.profileFields(body);
    const base = this.event(ctx, 'limits.profile.create', 'rate_limit_profile', null);
    const created = await this.db
      .$transaction(async (tx) => {
        if (await this.repo.findProfileByName(tx, fields.name)) throw this.nameTaken(fields.name);
        const row = await this.repo.createProfile(tx, fields);
        await this.audit.record(tx, {
          ...base,
          target: { type: 'rate_limit_profile', id: row.id },
          after: fields,
        });
        return row;
      })
      .catch((error: unknown) =>
        this.refuse(base, isUniqueViolation(error) ? this.nameTaken(fields.name) : error),
      );
    await this.refreshTable();
    return created;
  }

  async updateProfile(id: string, body: ProfileBody, ctx: CallContext): Promise<ProfileRow> {
    const fields = this.profileFields(body);
    const base = this.event(ctx, 'limits.profile.update', 'rate_limit_profile', id);
    const updated = await this.db
      .$transaction(async (tx) => {
        const existing = await this.repo.findProfile(tx, id);
        if (!existing) throw notFound('rate-limit profile');
        const sameName = await this.repo.findProfileByName(tx, fields.name);
        if (sameName && sameName.id !== id) throw this.nameTaken(fields.name);
        const row = await this.repo.updateProfile(tx, id, fields);
        await this.audit.record(tx, { ...base, before: this.fieldsOf(existing), after: fields });
        return row;
      })
      .catch((error: unknown) =>
        this.refuse(base, isUniqueViolation(error) ? this.nameTaken(fields.name) : error),
      );
    await this.refreshTable();
    return updated;
  }

  async deleteProfile(id: string, ctx: CallContext): Promise<void> {
    const base = this.event(ctx, 'limits.profile.delete', 'rate_limit_profile', id);
    await this.db
      .$transaction(async (tx) => {
        const existing = await this.repo.findProfile(tx, id);
        if (!existing) throw notFound('rate-limit profile');
        if (existing._count.assignments > 0) {
          throw conflict(
            `Profile "${existing.name}" still limits ${existing._count.assignments} route(s); remove those assignments first.`,
            { assignments: existing._count.assignments },
          );
        }
        await this.repo.deleteProfile(tx, id);
        await this.audit.record(tx, { ...base, before: this.fieldsOf(existing) });
      })
      .catch((error: unknown) =>
        // An assignment created concurrently, after the count above.
        this.refuse(
          base,
          isForeignKeyViolation(error) ? conflict('The profile was just assigned to a route.') : error,
        ),
      );
  }

  async createAssignment(body: AssignmentBody, ctx: CallContext): Promise<AssignmentRow> {
    const base = this.event(ctx, 'limits.assignment.create', 'rate_limit_assignment', null);
    const created = await this.db
      .$transaction(async (tx) => {
        const route = this.declaredRoute(body.route);
        if (!(await this.repo.findProfile(tx, body.profileId))) throw notFound('rate-limit profile');
        if (await this.repo.findAssignmentByRoute(tx, route)) throw this.routeTaken(route);
        const row = await this.repo.createAssignment(tx, route, body.profileId);
        await this.audit.record(tx, {
          ...base,
          target: { type: 'rate_limit_assignment', id: row.id },
          after: { route, profileId: body.profileId },
        });
        return row;
      })
      .catch((error: unknown) =>
        this.refuse(base, isUniqueViolation(error) ? this.routeTaken(body.route) : error),
      );
    await this.refreshTable();
    return created;
  }

  async deleteAssignment(id: string, ctx: CallContext): Promise<void> {
    const base = this.event(ctx, 'limits.assignment.delete', 'rate_limit_assignment', id);
    await this.db
      .$transaction(async (tx) => {
        const existing = await this.repo.findAssignment(tx, id);
        if (!existing) throw notFound('rate-limit assignment');
        await this.repo.deleteAssignment(tx, id);
        await this.audit.record(tx, {
          ...base,
          before: { route: existing.route, profileId: existing.profileId },
        });
      })
      .catch((error: unknown) => this.refuse(base, error));
    await this.refreshTable();
  }

  // ---- helpers ----

  /** `METHOD /url/pattern` naming a declared route, normalised; 400 otherwise. */
  private declaredRoute(input: string): string {
    const match = /^\s*([A-Za-z]+)\s+(\/\S*)\s*$/.exec(input);
    if (!match) throw badRequest('route must look like "GET /api/v1/auth/me" (method, space, url pattern)');
    const method = match[1]!.toUpperCase();
    const url = match[2]!;
    if (!this.routes.some((r) => r.method === method && r.url === url)) {
      throw badRequest(
        `No declared route ${method} ${url}; name one from the API (with :params as declared).`,
      );
    }
    if (url.startsWith(UNLIMITABLE_PREFIX)) {
      throw badRequest('The rate-limit admin routes cannot be limited (a bad limit must stay removable).');
    }
    return `${method} ${url}`;
  }

  private profileFields(body: ProfileBody): ProfileFields {
    return {
      name: body.name.trim(),
      max: body.max,
      windowSeconds: body.windowSeconds,
      description: body.description ?? null,
    };
  }

  private fieldsOf(row: ProfileRow): ProfileFields {
    return { name: row.name, max: row.max, windowSeconds: row.windowSeconds, description: row.description };
  }

  private nameTaken(name: string): AppError {
    return conflict(`A rate-limit profile named "${name}" already exists.`);
  }

  private routeTaken(route: string): AppError {
    return conflict(`${route} already has a rate-limit profile; remove that assignment first.`);
  }

  private event(
    ctx: CallContext,
    action: AuditAction,
    targetType: string,
    targetId: string | null,
  ): AuditInput & { outcome: 'success' } {
    return {
      actor: actorOf(ctx.principal),
      permission: PERMISSION,
      action,
      target: { type: targetType, id: targetId },
      outcome: 'success',
      context: ctx.request,
    };
  }

  /** A refused write (bad input, missing object, conflict) is a failed privileged attempt: audit it, then rethrow. */
  private async refuse(base: AuditInput, error: unknown): Promise<never> {
    if (error instanceof AppError) {
      await this.audit.recordAlone({ ...base, outcome: 'failure', reason: error.message });
    }
    throw error;
  }
}
