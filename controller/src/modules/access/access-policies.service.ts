/**
 * Access policies: typed, defaulted, cached briefly. Other modules read them with
 * `get()` (password rules, session caps, OIDC group → role mappings); changes go
 * through `update`, which applies the no-escalation rule to role mappings.
 */
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import type { AuditWriter } from '../../core/audit.types.js';
import { actorOf, type CallContext } from '../../core/principal.js';
import type { Db } from '../../db/client.js';
import type { AccessRepository } from './access.repository.js';
import { type AccessGuard, grantsFleetOwner, sameScope, userOf } from './access-guard.js';
import type { AccessPoliciesRepository } from './access-policies.repository.js';
import {
  type AccessPolicies,
  type AccessPoliciesPatch,
  AccessPoliciesSchema,
  type AccessPolicyName,
  DEFAULT_ACCESS_POLICIES,
} from './access-policies.schemas.js';

/** Policies change rarely; a short cache keeps them off every request's path. */
const CACHE_MS = 5_000;
const NAMES = Object.keys(DEFAULT_ACCESS_POLICIES) as AccessPolicyName[];
const VALIDATORS = Object.fromEntries(
  NAMES.map((name) => [name, Compile(AccessPoliciesSchema.properties[name] as TSchema)]),
) as Record<AccessPolicyName, ReturnType<typeof Compile>>;

type Mapping = AccessPolicies['oidcRoleMappings'][number];
const sameMapping = (a: Mapping, b: Mapping) =>
  a.group === b.group &&
  a.role === b.role &&
  sameScope({ type: a.scope.type, id: a.scope.id ?? null }, { type: b.scope.type, id: b.scope.id ?? null });

export class AccessPoliciesService {
  private cached: { atMs: number; value: AccessPolicies } | undefined;

  private readonly db: Db;
  private readonly repo: AccessPoliciesRepository;
  private readonly access: AccessRepository;
  private readonly guard: AccessGuard;
  private readonly audit: AuditWriter;
  private readonly now: () => Date;

  constructor(options: {
    db: Db;
    repo: AccessPoliciesRepository;
    access: AccessRepository;
    guard: AccessGuard;
    audit: AuditWriter;
    now?: () => Date;
  }) {
    this.db = options.db;
    this.repo = options.repo;
    this.access = options.access;
    this.guard = options.guard;
    this.audit = options.audit;
    this.now = options.now ?? (() => new Date());
  }

  /** The current policies, defaults filled in. A stored document that no longer validates reads as its default. */
  async get(): Promise<AccessPolicies> {
    const nowMs = this.now().getTime();
    if (this.cached && nowMs >= this.cached.atMs && nowMs - this.cached.atMs < CACHE_MS)
      return this.cached.value;
    const value = await this.read(this.db);
    this.cached = { atMs: nowMs, value };
    return value;
  }

  /** IdP group → role mappings, for single sign-on (matches the OIDC module's OidcRoleMappingSource). */
  async oidcRoleMappings(): Promise<AccessPolicies['oidcRoleMappings']> {
    return (await this.get()).oidcRoleMappings;
  }

  private async read(tx: Parameters<AccessPoliciesRepository['all']>[0]): Promise<AccessPolicies> {
    const stored = await this.repo.all(tx);
    const policies = structuredClone(DEFAULT_ACCESS_POLICIES) as Record<AccessPolicyName, unknown>;
    for (const name of NAMES) {
      const raw = stored.get(name);
      if (raw === undefined) continue;
      try {
        const parsed: unknown = JSON.parse(raw);
        if (VALIDATORS[name].Check(parsed)) policies[name] = parsed;
      } catch {
        // keep the default
      }
    }
    return policies as AccessPolicies;
  }

  async update(patch: AccessPoliciesPatch, ctx: CallContext): Promise<AccessPolicies> {
    const principal = userOf(ctx);
    const names = NAMES.filter((n) => patch[n] !== undefined);
    await this.guard.refusalsAsDenials(
      {
        action: 'auth.access_policy.update',
        target: { type: 'access_policy', id: names.join(',') },
        attempted: patch,
      },
      () =>
        this.db.$transaction(async (tx) => {
          await this.access.lock(tx);
          const before = await this.read(tx);
          if (patch.oidcRoleMappings) {
            // Mapping an IdP group to a role grants it: only what the caller could grant.
            const planned = await this.guard.plan(tx, patch.oidcRoleMappings);
            const added = planned.filter(
              (_, i) => !before.oidcRoleMappings.some((m) => sameMapping(m, patch.oidcRoleMappings![i]!)),
            );
            this.guard.assertGrantable(principal.access, added, 'map an IdP group to');
            const removedOwner = before.oidcRoleMappings.some(
              (m) =>
                m.role === 'owner' &&
                m.scope.type === 'fleet' &&
                !patch.oidcRoleMappings!.some((n) => sameMapping(m, n)),
            );
            await this.guard.assertOwnerFor(
              tx,
              principal,
              grantsFleetOwner(added) || removedOwner,
              'map an IdP group to the owner role, or unmap one',
            );
          }
          for (const name of names) await this.repo.put(tx, name, JSON.stringify(patch[name]));
          await this.audit.record(tx, {
            actor: actorOf(principal),
            permission: 'auth:manage',
            action: 'auth.access_policy.update',
            target: { type: 'access_policy', id: names.join(',') },
            outcome: 'success',
            before: Object.fromEntries(names.map((n) => [n, before[n]])),
            after: Object.fromEntries(names.map((n) => [n, patch[n]])),
            context: ctx.request,
          });
        }),
    );
    this.cached = undefined;
    return this.get();
  }
}
