/**
 * Single sign-on with an OpenID Provider: Authorization Code + PKCE. A pending login
 * (state, nonce, PKCE verifier, where to return) lives server-side for five minutes
 * and is used once. The callback signs the user in with the same kind of session as
 * a password login.
 *
 * Account linking: an SSO identity is its (issuer, subject) pair, nothing else. A
 * first login always creates a new, password-less user, even when a local account
 * has the same username or email: matching by email would let whoever controls that
 * address at the IdP take over the local account. The email claim is stored only
 * when the provider marks it verified, and is informational.
 *
 * Access: IdP groups (the configured claim) are synced at every login. A user joins
 * each Earshot group whose `oidcGroup` is claimed and leaves those it no longer
 * claims; groups without `oidcGroup` are left alone. Role mappings give direct
 * grants; grants named by some mapping are owned by the IdP (removed when the group
 * goes), other grants are untouched.
 */

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { randomPKCECodeVerifier } from 'openid-client';
import { ERROR_CODES } from '../../../../../shared/src/errors.js';
import type { ScopeType } from '../../../../../shared/src/permissions.js';
import type { AuditWriter } from '../../../core/audit.types.js';
import { AppError, conflict } from '../../../core/errors.js';
import type { CallContext } from '../../../core/principal.js';
import type { Db, Tx } from '../../../db/client.js';
import type { User } from '../../../db/rows.js';
import { retryOnUniqueViolation } from '../../../db/unique.js';
import type { AuthService, LoginResult } from '../auth/auth.service.js';
import type { UsersRepository } from '../auth/users.repository.js';
import {
  type Claims,
  OidcExchangeError,
  type OidcIdentityProvider,
  OidcUnavailableError,
} from './oidc.idp.js';
import type { OidcRepository } from './oidc.repository.js';

export interface OidcRoleMapping {
  group: string;
  role: string;
  scope?: { type: ScopeType; id?: string };
}

/** Where role mappings come from: the `oidcRoleMappings` access policy (AccessPoliciesService). */
export interface OidcRoleMappingSource {
  oidcRoleMappings(): Promise<readonly OidcRoleMapping[]>;
}

export interface OidcSettings {
  buttonLabel: string;
  groupsClaim: string;
}

export const LOGIN_TTL_MS = 5 * 60_000;
const MAX_GROUPS = 256;

const notConfigured = () =>
  new AppError(404, ERROR_CODES.oidcNotConfigured, 'Single sign-on (OIDC) is not configured.');
const stateInvalid = (message: string) => new AppError(400, ERROR_CODES.oidcStateInvalid, message);
const loginFailed = (reason: string, message: string) =>
  new AppError(401, ERROR_CODES.oidcLoginFailed, message, { reason });
const providerError = (code: string) =>
  new AppError(401, ERROR_CODES.oidcProviderError, `The identity provider refused the sign-in (${code}).`, {
    error: code,
  });

/** Discovery failures (the provider is down) are a 503 for login and discovery. */
async function orUnavailable<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof OidcUnavailableError)
      throw new AppError(503, ERROR_CODES.unavailable, error.message, undefined, { 'retry-after': '30' });
    throw error;
  }
}

export interface CallbackInput {
  query: URLSearchParams;
  /** The state the browser carries in its login cookie (binds the callback to that browser). */
  browserState: string | undefined;
  userAgent?: string;
}

/** The access lock (PostgreSQL: an advisory lock; SQLite's writes are serial already). */
export interface AccessLock {
  lock(tx: Tx): Promise<void>;
}

export class OidcService {
  private readonly db: Db;
  private readonly repo: OidcRepository;
  private readonly users: UsersRepository;
  private readonly auth: AuthService;
  private readonly audit: AuditWriter;
  /** Undefined when OIDC is not configured. */
  private readonly idp: OidcIdentityProvider | undefined;
  private readonly mappings: OidcRoleMappingSource;
  private readonly settings: OidcSettings;
  private readonly accessLock: AccessLock;
  private readonly now: () => Date;

  constructor(options: {
    db: Db;
    /** The lock every access change takes (a new user's name, group and grant changes). */
    accessLock: AccessLock;
    repo: OidcRepository;
    users: UsersRepository;
    auth: AuthService;
    audit: AuditWriter;
    idp: OidcIdentityProvider | undefined;
    mappings: OidcRoleMappingSource;
    settings: OidcSettings;
    now?: () => Date;
  }) {
    this.db = options.db;
    this.repo = options.repo;
    this.users = options.users;
    this.auth = options.auth;
    this.audit = options.audit;
    this.idp = options.idp;
    this.mappings = options.mappings;
    this.settings = options.settings;
    this.accessLock = options.accessLock;
    this.now = options.now ?? (() => new Date());
  }

  publicConfig(): { enabled: boolean; buttonLabel: string } {
    return { enabled: this.idp !== undefined, buttonLabel: this.settings.buttonLabel };
  }

  async discoveryDocument() {
    const { metadata, fetchedAt } = await orUnavailable(this.requireIdp().serverMetadata());
    return { issuer: metadata.issuer, fetchedAt: fetchedAt.toISOString(), document: { ...metadata } };
  }

  /** Records a pending login and returns the provider URL to send the browser to. */
  async startLogin(
    returnTo: string | undefined,
  ): Promise<{ redirectUrl: string; state: string; maxAgeSeconds: number }> {
    const idp = this.requireIdp();
    const safeReturnTo = returnTo === undefined ? null : sameOriginPath(returnTo);
    const checks = {
      state: randomBytes(32).toString('base64url'),
      nonce: randomBytes(32).toString('base64url'),
      codeVerifier: randomPKCECodeVerifier(),
    };
    const url = await orUnavailable(idp.authorizationUrl(checks));
    const now = this.now();
    // Pending logins are protocol state, not a change anyone makes: not audited (an
    // anonymous caller could otherwise flood the audit chain). Callbacks are.
    await this.repo.purgeExpiredLogins(now);
    await this.repo.createLogin({
      ...checks,
      returnTo: safeReturnTo,
      expiresAt: new Date(now.getTime() + LOGIN_TTL_MS),
    });
    return { redirectUrl: url.href, state: checks.state, maxAgeSeconds: LOGIN_TTL_MS / 1000 };
  }

  /** Completes a login from the provider's redirect; refusals are audited as failed logins. */
  async completeLogin(
    input: CallbackInput,
    ctx: CallContext,
  ): Promise<{ session: LoginResult; returnTo: string }> {
    const idp = this.requireIdp();
    const fail = async (error: AppError, reason: string, who?: { sub?: string; userId?: string }) => {
      await this.audit.recordAlone({
        actor: { type: 'anonymous', name: who?.sub ? `oidc:${who.sub}` : null },
        action: 'auth.login',
        target: who?.userId ? { type: 'user', id: who.userId } : null,
        outcome: 'failure',
        reason: `oidc: ${reason}`,
        context: ctx.request,
      });
      return error;
    };

    const pending = await this.pendingLogin(input, fail);
    const idpError = input.query.get('error');
    if (idpError) {
      const code = /^[A-Za-z0-9_.-]{1,64}$/.test(idpError) ? idpError : 'unknown';
      throw await fail(providerError(code), `provider error ${code}`);
    }

    let claims: Claims;
    try {
      claims = await idp.exchangeCode(input.query, pending);
    } catch (error) {
      if (error instanceof OidcExchangeError)
        throw await fail(loginFailed(error.reason, error.message), error.reason);
      throw error;
    }

    const existing = await this.repo.findUserByIdentity(claims.iss, claims.sub);
    if (existing?.disabled) {
      throw await fail(
        new AppError(403, ERROR_CODES.accountDisabled, 'This account is disabled.'),
        'account disabled',
        { sub: claims.sub, userId: existing.id },
      );
    }
    if ((await this.users.count()) === 0) {
      throw await fail(
        conflict('Finish first-run setup (POST /api/v1/setup) before signing in with SSO.'),
        'setup not complete',
        { sub: claims.sub },
      );
    }

    const groups = groupsOf(claims[this.settings.groupsClaim]);
    const signIn = () =>
      this.db.$transaction(async (tx) => {
        // Under the lock a user's creation takes: a name taken in another letter case meanwhile
        // (`Dana` made while `dana` signs in for the first time) is seen, and this one is tagged.
        await this.accessLock.lock(tx);
        const user = await this.findOrCreateUser(tx, claims, ctx);
        const access = await this.syncAccess(tx, user, groups, ctx);
        return this.auth.startSession(tx, user, ctx, {
          userAgent: input.userAgent,
          auditAfter: { method: 'oidc', issuer: claims.iss, subject: claims.sub, groups, ...access },
        });
      });
    // Two first logins of one identity may race; the loser's second try finds the user.
    const session = await retryOnUniqueViolation(signIn);
    return { session, returnTo: pending.returnTo ?? '/' };
  }

  /** The login this browser started, taken once; refused (and audited through `fail`) otherwise. */
  private async pendingLogin(
    input: CallbackInput,
    fail: (error: AppError, reason: string) => Promise<AppError>,
  ): Promise<NonNullable<Awaited<ReturnType<OidcRepository['takeLogin']>>>> {
    const state = input.query.get('state');
    if (!state) throw await fail(stateInvalid('The sign-in response has no state.'), 'state missing');
    if (!input.browserState || !sameSecret(state, input.browserState)) {
      throw await fail(
        stateInvalid('This sign-in was not started from this browser; start again.'),
        'state not bound to this browser',
      );
    }
    const pending = await this.repo.takeLogin(state);
    if (!pending || pending.expiresAt.getTime() <= this.now().getTime()) {
      throw await fail(
        stateInvalid('This sign-in is unknown, already used or expired; start again.'),
        pending ? 'state expired' : 'state unknown or replayed',
      );
    }
    return pending;
  }

  private requireIdp(): OidcIdentityProvider {
    if (!this.idp) throw notConfigured();
    return this.idp;
  }

  private async findOrCreateUser(tx: Tx, claims: Claims, ctx: CallContext): Promise<User> {
    const email = verifiedEmail(claims);
    const existing = await this.repo.findUserByIdentity(claims.iss, claims.sub, tx);
    if (existing) {
      if (email && email !== existing.email) {
        await this.repo.updateEmail(tx, existing.id, email);
        await this.audit.record(tx, {
          actor: { type: 'user', id: existing.id, name: existing.username },
          action: 'auth.oidc.user_update',
          target: { type: 'user', id: existing.id },
          outcome: 'success',
          before: { email: existing.email },
          after: { email },
          context: ctx.request,
        });
      }
      return existing;
    }
    const username = await this.freeUsername(tx, claims);
    const displayName = stringClaim(claims.name, 128) ?? username;
    const user = await this.repo.createUser(tx, {
      username,
      displayName,
      email,
      issuer: claims.iss,
      subject: claims.sub,
    });
    await this.audit.record(tx, {
      actor: { type: 'user', id: user.id, name: user.username },
      action: 'auth.oidc.user_create',
      target: { type: 'user', id: user.id },
      outcome: 'success',
      after: { id: user.id, username, displayName, email, issuer: claims.iss, subject: claims.sub },
      context: ctx.request,
    });
    return user;
  }

  /** preferred_username, else email, else sso-<subject>; suffixed when a local user has it. */
  private async freeUsername(tx: Tx, claims: Claims): Promise<string> {
    const wanted =
      stringClaim(claims.preferred_username, 256) ?? verifiedEmail(claims) ?? `sso-${claims.sub}`;
    const base = wanted.replace(/[^A-Za-z0-9._@-]+/g, '-').slice(0, 48) || 'sso-user';
    if (!(await this.repo.usernameTaken(tx, base))) return base;
    const tag = createHash('sha256').update(`${claims.iss}\n${claims.sub}`).digest('hex').slice(0, 8);
    const tagged = `${base}-${tag}`;
    if (!(await this.repo.usernameTaken(tx, tagged))) return tagged;
    return `${base}-${randomBytes(6).toString('hex')}`;
  }

  /** Syncs IdP-driven group memberships and grants; audits what changed. */
  private async syncAccess(tx: Tx, user: User, claimed: string[], ctx: CallContext) {
    const claimedSet = new Set(claimed);
    const mapped = await this.repo.mappedGroups(tx);
    const current = new Set(
      await this.repo.groupIdsOf(
        tx,
        user.id,
        mapped.map((g) => g.id),
      ),
    );
    const joinGroups = mapped.filter((g) => claimedSet.has(g.oidcGroup) && !current.has(g.id));
    const leaveGroups = mapped.filter((g) => !claimedSet.has(g.oidcGroup) && current.has(g.id));
    await this.repo.addMemberships(
      tx,
      user.id,
      joinGroups.map((g) => g.id),
    );
    await this.repo.removeMemberships(
      tx,
      user.id,
      leaveGroups.map((g) => g.id),
    );

    const mappings = (await this.mappings.oidcRoleMappings()).filter(validScope);
    const roleIds = await this.repo.roleIdsByName(tx, [...new Set(mappings.map((m) => m.role))]);
    const roleNames = new Map([...roleIds].map(([name, id]) => [id, name]));
    const keyOf = (roleId: string, scopeType: string, scopeId: string | null) =>
      `${roleId}|${scopeType}|${scopeId ?? ''}`;
    const managed = new Map<string, { roleId: string; scopeType: string; scopeId: string | null }>();
    const wanted = new Set<string>();
    for (const m of mappings) {
      const roleId = roleIds.get(m.role);
      if (!roleId) continue; // a role that does not exist (yet) grants nothing
      const grant = { roleId, scopeType: m.scope?.type ?? 'fleet', scopeId: m.scope?.id ?? null };
      const key = keyOf(grant.roleId, grant.scopeType, grant.scopeId);
      managed.set(key, grant);
      if (claimedSet.has(m.group)) wanted.add(key);
    }
    const held = await this.repo.directGrants(tx, user.id);
    const heldKeys = new Set(held.map((g) => keyOf(g.roleId, g.scopeType, g.scopeId)));
    const revoke = held.filter((g) => {
      const key = keyOf(g.roleId, g.scopeType, g.scopeId);
      return managed.has(key) && !wanted.has(key);
    });
    const grant = [...wanted].filter((key) => !heldKeys.has(key)).map((key) => managed.get(key)!);
    await this.repo.removeGrants(
      tx,
      revoke.map((g) => g.id),
    );
    await this.repo.addGrants(tx, user.id, grant);

    const describe = (g: { roleId: string; scopeType: string; scopeId: string | null }) => ({
      role: roleNames.get(g.roleId) ?? g.roleId,
      scope: { type: g.scopeType, id: g.scopeId },
    });
    const changes = {
      groupsJoined: joinGroups.map((g) => g.name),
      groupsLeft: leaveGroups.map((g) => g.name),
      grantsAdded: grant.map(describe),
      grantsRemoved: revoke.map(describe),
    };
    const changed = Object.values(changes).some((list) => list.length > 0);
    if (changed) {
      await this.audit.record(tx, {
        actor: { type: 'user', id: user.id, name: user.username },
        action: 'auth.oidc.access_sync',
        target: { type: 'user', id: user.id },
        outcome: 'success',
        before: { groups: mapped.filter((g) => current.has(g.id)).map((g) => g.name) },
        after: { claimedGroups: claimed, ...changes },
        context: ctx.request,
      });
    }
    return { accessChanged: changed };
  }
}

/** Re-checks what the schema pattern allows: the path must stay on this origin. */
export function sameOriginPath(returnTo: string): string {
  const base = 'https://earshot.invalid';
  let resolved: URL;
  try {
    resolved = new URL(returnTo, base);
  } catch {
    throw badReturnTo();
  }
  if (resolved.origin !== base || !returnTo.startsWith('/') || returnTo.startsWith('//')) {
    throw badReturnTo();
  }
  return `${resolved.pathname}${resolved.search}${resolved.hash}`;
}

const badReturnTo = () =>
  new AppError(400, ERROR_CODES.badRequest, 'returnTo must be a path on this site, such as /recordings.');

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function stringClaim(value: unknown, maxLength: number): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim().slice(0, maxLength) : undefined;
}

function verifiedEmail(claims: Claims): string | null {
  return claims.email_verified === true ? (stringClaim(claims.email, 320) ?? null) : null;
}

/** The groups claim as a list of names: an array of strings, or one string. */
function groupsOf(value: unknown): string[] {
  const raw = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  const names = raw.filter((v): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256);
  return [...new Set(names)].slice(0, MAX_GROUPS);
}

function validScope(m: OidcRoleMapping): boolean {
  const type = m.scope?.type ?? 'fleet';
  return type === 'fleet' ? !m.scope?.id : Boolean(m.scope?.id);
}
