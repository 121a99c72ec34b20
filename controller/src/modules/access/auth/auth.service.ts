/**
 * Users' sign-in: first-run setup, login/logout, sessions with idle and absolute
 * expiry, personal API tokens, and resolving a presented secret to a user.
 */
import type { Config } from '../../../config.js';
import { AccessSet } from '../../../core/access-set.js';
import type { AuditWriter } from '../../../core/audit.types.js';
import { conflict, forbidden, hidden, notFound, rateLimited, unauthenticated } from '../../../core/errors.js';
import { parsePositionCursor, positionCursor } from '../../../core/page-position.js';
import { pageOf } from '../../../core/pagination.js';
import { actorOf, type CallContext, type UserPrincipal } from '../../../core/principal.js';
import { dummyHash, hashPassword, verifyPassword } from '../../../crypto/password.js';
import { hashSecret, newSecret, SECRET_PREFIX, secretHint } from '../../../crypto/secrets.js';
import type { Db, Tx } from '../../../db/client.js';
import type { User } from '../../../db/rows.js';
import type { LoginThrottlePort } from './login-throttle.js';
import { type CacheEntry, PrincipalCache } from './principal-cache.js';
import type { ApiTokensRepository, SessionsRepository } from './sessions.repository.js';
import type { UsersRepository } from './users.repository.js';

export interface LoginResult {
  token: string;
  csrfToken: string;
  expiresAt: Date;
  user: { id: string; username: string; displayName: string };
}

const MINUTE_MS = 60_000;
/** How long a resolved caller is reused at most, even with no access change in between. */
const PRINCIPAL_TTL_MS = 30_000;

/** A resolved credential as cached: the caller, and what a later hit still has to write. */
interface ResolvedCredential {
  principal: UserPrincipal;
  /** When the session's last-seen or the token's last-used was last written (epoch ms). */
  lastWriteMs: number;
  session?: { id: string; absoluteExpiresAt: Date };
  tokenId?: string;
}

interface Resolution {
  cached: ResolvedCredential;
  /** The credential's own expiry (epoch ms). */
  expiresAtMs: number;
}

/** Organisation policy caps on session lifetimes (null: the controller setting applies). */
export interface SessionCaps {
  maxIdleMinutes: number | null;
  maxAbsoluteMinutes: number | null;
}

export class AuthService {
  private dummy: Promise<string> | undefined;

  private readonly db: Db;
  private readonly users: UsersRepository;
  private readonly sessions: SessionsRepository;
  private readonly apiTokens: ApiTokensRepository;
  private readonly audit: AuditWriter;
  private readonly throttle: LoginThrottlePort;
  private readonly config: Pick<Config, 'scryptLogN' | 'sessionIdleMinutes' | 'sessionAbsoluteHours'>;
  private readonly now: () => Date;
  private readonly sessionCaps: () => Promise<SessionCaps>;
  private readonly generation: { read(): Promise<number> };
  private readonly principals = new PrincipalCache<ResolvedCredential>(PRINCIPAL_TTL_MS);

  constructor(options: {
    db: Db;
    users: UsersRepository;
    sessions: SessionsRepository;
    apiTokens: ApiTokensRepository;
    audit: AuditWriter;
    throttle: LoginThrottlePort;
    config: Pick<Config, 'scryptLogN' | 'sessionIdleMinutes' | 'sessionAbsoluteHours'>;
    now?: () => Date;
    sessionCaps?: () => Promise<SessionCaps>;
    /** The access generation (access-generation.ts); cached callers are used only while it holds. */
    generation: { read(): Promise<number> };
  }) {
    this.generation = options.generation;
    this.db = options.db;
    this.users = options.users;
    this.sessions = options.sessions;
    this.apiTokens = options.apiTokens;
    this.audit = options.audit;
    this.throttle = options.throttle;
    this.config = options.config;
    this.now = options.now ?? (() => new Date());
    this.sessionCaps =
      options.sessionCaps ??
      (async () => ({
        maxIdleMinutes: null,
        maxAbsoluteMinutes: null,
      }));
  }

  async setupNeeded(): Promise<boolean> {
    return (await this.users.count()) === 0;
  }

  /** Creates the first owner; refused once any user exists. */
  async setup(input: { username: string; password: string; displayName?: string }, ctx: CallContext) {
    // Refused before the password is hashed: the route is public, and a hash takes a core for
    // a good part of a second (checked again under the lock, for two setups racing).
    if (!(await this.setupNeeded())) throw setupComplete();
    const passwordHash = await hashPassword(input.password, this.config.scryptLogN);
    return this.db.$transaction(async (tx) => {
      await this.users.lockSetup(tx);
      if ((await this.users.count(tx)) > 0) throw setupComplete();
      const roles = await this.users.ensureBuiltInRoles(tx);
      const user = await this.users.createUser(tx, {
        username: input.username,
        displayName: input.displayName ?? input.username,
        passwordHash,
      });
      await this.users.addGrant(tx, user.id, roles.get('owner')!, 'fleet', null);
      const after = { id: user.id, username: user.username, role: 'owner', scope: 'fleet' };
      await this.audit.record(tx, {
        actor: { type: 'anonymous' },
        action: 'setup.owner_create',
        target: { type: 'user', id: user.id },
        outcome: 'success',
        after,
        context: ctx.request,
      });
      return { id: user.id, username: user.username, displayName: user.displayName };
    });
  }

  async login(
    input: { username: string; password: string; userAgent?: string },
    ctx: CallContext,
  ): Promise<LoginResult> {
    const address = ctx.request.sourceIp ?? 'unknown';
    const wait = await this.throttle.retryAfterSeconds(input.username, address);
    if (wait > 0) {
      await this.audit.recordAlone({
        actor: { type: 'anonymous', name: input.username },
        action: 'auth.login',
        outcome: 'denied',
        reason: 'throttled',
        context: ctx.request,
      });
      throw rateLimited(wait);
    }
    const user = await this.users.findByUsername(input.username);
    this.dummy ??= dummyHash(this.config.scryptLogN);
    const ok = await verifyPassword(input.password, user?.passwordHash ?? (await this.dummy));
    if (!user || !ok || user.disabled) {
      await this.throttle.recordFailure(input.username, address);
      await this.audit.recordAlone({
        actor: { type: 'anonymous', name: input.username },
        action: 'auth.login',
        target: user ? { type: 'user', id: user.id } : null,
        outcome: 'failure',
        reason: 'bad credentials',
        context: ctx.request,
      });
      throw unauthenticated('Wrong username or password.');
    }
    await this.throttle.recordSuccess(input.username);
    return this.db.$transaction((tx) => this.startSession(tx, user, ctx, { userAgent: input.userAgent }));
  }

  /**
   * Opens a session for a user who has just proved who they are (password or single
   * sign-on) and audits the login, inside the caller's transaction. Every way of
   * signing in ends here, so all sessions are alike: same token kind, CSRF token and
   * expiry rules.
   */
  async startSession(
    tx: Tx,
    user: Pick<User, 'id' | 'username' | 'displayName'>,
    ctx: CallContext,
    options: { userAgent?: string; auditAfter?: Record<string, unknown> } = {},
  ): Promise<LoginResult> {
    const now = this.now();
    const { absoluteMs } = await this.lifetimesMs();
    const absoluteExpiresAt = new Date(now.getTime() + absoluteMs);
    const idleExpiresAt = await this.idleExpiry(now, absoluteExpiresAt);
    const { session, login } = await this.createSession(tx, user, ctx, {
      now,
      idleExpiresAt,
      absoluteExpiresAt,
      userAgent: options.userAgent?.slice(0, 256) ?? null,
    });
    await this.audit.record(tx, {
      actor: { type: 'user', id: user.id, name: user.username },
      action: 'auth.login',
      target: { type: 'session', id: session.id },
      outcome: 'success',
      after: options.auditAfter,
      context: ctx.request,
    });
    return login;
  }

  /** Stores a new session (new token and CSRF token) for the user; what the caller hands back is `login`. */
  private async createSession(
    tx: Tx,
    user: Pick<User, 'id' | 'username' | 'displayName'>,
    ctx: CallContext,
    times: { now: Date; idleExpiresAt: Date; absoluteExpiresAt: Date; userAgent: string | null },
  ): Promise<{ session: { id: string }; login: LoginResult }> {
    const token = newSecret(SECRET_PREFIX.session);
    const csrfToken = newSecret();
    const session = await this.sessions.create(tx, {
      tokenHash: hashSecret(token),
      csrfToken,
      userId: user.id,
      // The service's clock, not the database's: expiry is computed from it.
      createdAt: times.now,
      lastSeenAt: times.now,
      idleExpiresAt: times.idleExpiresAt,
      absoluteExpiresAt: times.absoluteExpiresAt,
      sourceIp: ctx.request.sourceIp ?? null,
      userAgent: times.userAgent,
    });
    const login = {
      token,
      csrfToken,
      expiresAt: times.absoluteExpiresAt,
      user: { id: user.id, username: user.username, displayName: user.displayName },
    };
    return { session, login };
  }

  /** Session lifetimes: the controller settings, capped by the access policy. */
  private async lifetimesMs(): Promise<{ idleMs: number; absoluteMs: number }> {
    const caps = await this.sessionCaps();
    const idle = Math.min(this.config.sessionIdleMinutes, caps.maxIdleMinutes ?? Number.POSITIVE_INFINITY);
    const absolute = Math.min(
      this.config.sessionAbsoluteHours * 60,
      caps.maxAbsoluteMinutes ?? Number.POSITIVE_INFINITY,
    );
    return { idleMs: idle * MINUTE_MS, absoluteMs: absolute * MINUTE_MS };
  }

  private async idleExpiry(now: Date, absolute: Date): Promise<Date> {
    const { idleMs } = await this.lifetimesMs();
    return new Date(Math.min(now.getTime() + idleMs, absolute.getTime()));
  }

  /**
   * Swaps the caller's session, inside its idle window, for a new one: new token and
   * CSRF token, same absolute expiry; the old token stops working at once.
   */
  async refresh(ctx: CallContext, userAgent?: string): Promise<LoginResult> {
    const p = ctx.principal as UserPrincipal;
    if (p.via !== 'session' || !p.sessionId) {
      await this.audit.recordAlone({
        actor: actorOf(p),
        action: 'auth.session.refresh',
        outcome: 'denied',
        reason: 'not a session',
        context: ctx.request,
      });
      throw forbidden('Only a session can be refreshed; API tokens do not idle out.');
    }
    const old = await this.sessions.find(p.sessionId);
    const user = await this.users.findById(p.userId);
    if (!old || !user) throw unauthenticated('Your session ended; sign in again.');
    const now = this.now();
    const idleExpiresAt = await this.idleExpiry(now, old.absoluteExpiresAt);
    return this.db.$transaction(async (tx) => {
      // Only one refresh of a session wins; a second one with the same old token gets 401.
      if ((await this.sessions.revoke(tx, old.id, now)) === 0)
        throw unauthenticated('Your session ended; sign in again.');
      const { session, login } = await this.createSession(tx, user, ctx, {
        now,
        idleExpiresAt,
        absoluteExpiresAt: old.absoluteExpiresAt,
        userAgent: userAgent?.slice(0, 256) ?? old.userAgent,
      });
      await this.audit.record(tx, {
        actor: actorOf(p),
        action: 'auth.session.refresh',
        target: { type: 'session', id: session.id },
        outcome: 'success',
        before: { sessionId: old.id },
        after: { sessionId: session.id, idleExpiresAt, absoluteExpiresAt: old.absoluteExpiresAt },
        context: ctx.request,
      });
      return login;
    });
  }

  async logout(ctx: CallContext): Promise<void> {
    const p = ctx.principal as UserPrincipal;
    if (!p.sessionId) return;
    await this.db.$transaction(async (tx) => {
      await this.sessions.revoke(tx, p.sessionId!, this.now());
      await this.audit.record(tx, {
        actor: actorOf(p),
        action: 'auth.logout',
        target: { type: 'session', id: p.sessionId },
        outcome: 'success',
        context: ctx.request,
      });
    });
  }

  /**
   * Resolves a session token (cookie or bearer) or an API token; undefined when invalid.
   * Cached per credential while the access generation is unchanged (access-generation.ts):
   * any revoke, logout, disable, grant or role change, on any replica, applies at once.
   */
  async resolve(secret: string): Promise<UserPrincipal | undefined> {
    const session = secret.startsWith(SECRET_PREFIX.session);
    if (!session && !secret.startsWith(SECRET_PREFIX.apiToken)) return undefined;
    const now = this.now();
    const tokenHash = hashSecret(secret);
    const generation = await this.generation.read();
    const cached = this.principals.get(tokenHash, generation, now.getTime());
    if (cached) {
      await this.keepAlive(cached, now);
      return cached.value.principal;
    }
    const resolved = session
      ? await this.resolveSession(tokenHash, now)
      : await this.resolveApiToken(tokenHash, now);
    if (!resolved) return undefined;
    this.principals.set(tokenHash, resolved.cached, generation, now.getTime(), resolved.expiresAtMs);
    return resolved.cached.principal;
  }

  /**
   * A signed-in caller as they are now, for what outlives one request (a live listen stream):
   * the same session or API token, still not revoked nor past its expiry, its user enabled, with
   * the grants they have now; undefined otherwise. The session's idle window is not applied:
   * the stream is the activity.
   */
  async current(principal: UserPrincipal): Promise<UserPrincipal | undefined> {
    const now = this.now().getTime();
    if (principal.sessionId) {
      const session = await this.sessions.find(principal.sessionId);
      if (!session || session.revokedAt || session.absoluteExpiresAt.getTime() <= now) return undefined;
    } else if (principal.apiTokenId) {
      const token = await this.apiTokens.find(principal.apiTokenId);
      if (!token || token.revokedAt || (token.expiresAt && token.expiresAt.getTime() <= now))
        return undefined;
    } else {
      return undefined;
    }
    const user = await this.users.findById(principal.userId);
    if (!user || user.disabled) return undefined;
    return { ...principal, access: new AccessSet(await this.users.grantsOf(principal.userId)) };
  }

  /** What a cache hit still writes, as an uncached request would: the sliding idle window, last use. */
  private async keepAlive(entry: CacheEntry<ResolvedCredential>, now: Date): Promise<void> {
    const resolved = entry.value;
    if (now.getTime() - resolved.lastWriteMs <= MINUTE_MS) return;
    resolved.lastWriteMs = now.getTime();
    // The entry keeps its expiry: the touch only moves the idle expiry later.
    if (resolved.session) {
      const { id, absoluteExpiresAt } = resolved.session;
      await this.sessions.touch(id, now, await this.idleExpiry(now, absoluteExpiresAt));
    } else if (resolved.tokenId) {
      await this.apiTokens.markUsed(resolved.tokenId, now);
    }
  }

  private async resolveSession(tokenHash: string, now: Date): Promise<Resolution | undefined> {
    const session = await this.sessions.findActive(tokenHash, now);
    if (!session || session.user.disabled) return undefined;
    let { lastSeenAt, idleExpiresAt } = session;
    // Sliding idle window, written at most once a minute.
    if (now.getTime() - lastSeenAt.getTime() > MINUTE_MS) {
      idleExpiresAt = await this.idleExpiry(now, session.absoluteExpiresAt);
      await this.sessions.touch(session.id, now, idleExpiresAt);
      lastSeenAt = now;
    }
    const principal: UserPrincipal = {
      kind: 'user',
      userId: session.userId,
      username: session.user.username,
      via: 'session',
      sessionId: session.id,
      csrfToken: session.csrfToken,
      access: new AccessSet(await this.users.grantsOf(session.userId)),
    };
    return {
      cached: {
        principal,
        lastWriteMs: lastSeenAt.getTime(),
        session: { id: session.id, absoluteExpiresAt: session.absoluteExpiresAt },
      },
      expiresAtMs: Math.min(idleExpiresAt.getTime(), session.absoluteExpiresAt.getTime()),
    };
  }

  private async resolveApiToken(tokenHash: string, now: Date): Promise<Resolution | undefined> {
    const token = await this.apiTokens.findActive(tokenHash, now);
    if (!token || token.user.disabled) return undefined;
    let lastUsedAt = token.lastUsedAt;
    if (!lastUsedAt || now.getTime() - lastUsedAt.getTime() > MINUTE_MS) {
      await this.apiTokens.markUsed(token.id, now);
      lastUsedAt = now;
    }
    const principal: UserPrincipal = {
      kind: 'user',
      userId: token.userId,
      username: token.user.username,
      via: 'api-token',
      apiTokenId: token.id,
      access: new AccessSet(await this.users.grantsOf(token.userId)),
    };
    return {
      cached: { principal, lastWriteMs: lastUsedAt.getTime(), tokenId: token.id },
      expiresAtMs: token.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY,
    };
  }

  async me(principal: UserPrincipal) {
    const user = await this.users.findById(principal.userId);
    if (!user) throw notFound('user');
    return {
      user: { id: user.id, username: user.username, displayName: user.displayName },
      via: principal.via,
      // Cookie sessions need it for mutating calls; SSO logins get it here (never in a URL).
      ...(principal.csrfToken ? { csrfToken: principal.csrfToken } : {}),
      permissions: principal.access.describe(),
    };
  }

  async createApiToken(input: { name: string; expiresInDays?: number }, ctx: CallContext) {
    const p = ctx.principal as UserPrincipal;
    const token = newSecret(SECRET_PREFIX.apiToken);
    const expiresAt = input.expiresInDays
      ? new Date(this.now().getTime() + input.expiresInDays * 86_400_000)
      : null;
    const row = await this.db.$transaction(async (tx) => {
      const created = await this.apiTokens.create(tx, {
        userId: p.userId,
        name: input.name,
        tokenHash: hashSecret(token),
        hint: secretHint(token),
        expiresAt,
      });
      await this.audit.record(tx, {
        actor: actorOf(p),
        action: 'auth.api_token.create',
        target: { type: 'api_token', id: created.id },
        outcome: 'success',
        after: { id: created.id, name: created.name, hint: created.hint, expiresAt },
        context: ctx.request,
      });
      return created;
    });
    return { ...this.describeToken(row), token };
  }

  /** A page of the user's tokens, newest first: hints only. */
  async listApiTokens(userId: string, limit: number, cursor?: string) {
    const rows = await this.apiTokens.pageOfUser(userId, limit, parsePositionCursor(cursor));
    return pageOf(rows, limit, (t) => this.describeToken(t), positionCursor);
  }

  async revokeApiToken(id: string, ctx: CallContext): Promise<void> {
    const p = ctx.principal as UserPrincipal;
    const token = await this.apiTokens.find(id);
    if (!token) throw notFound('API token');
    if (token.userId !== p.userId) throw hidden('API token', { type: 'api_token', id });
    if (token.revokedAt) return;
    await this.db.$transaction(async (tx) => {
      await this.apiTokens.revoke(tx, id, this.now());
      await this.audit.record(tx, {
        actor: actorOf(p),
        action: 'auth.api_token.revoke',
        target: { type: 'api_token', id },
        outcome: 'success',
        before: this.describeToken(token),
        context: ctx.request,
      });
    });
  }

  private describeToken(t: {
    id: string;
    name: string;
    hint: string;
    createdAt: Date;
    lastUsedAt: Date | null;
    expiresAt: Date | null;
    revokedAt: Date | null;
  }) {
    return {
      id: t.id,
      name: t.name,
      hint: t.hint,
      createdAt: t.createdAt.toISOString(),
      lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
      expiresAt: t.expiresAt?.toISOString() ?? null,
      revoked: t.revokedAt !== null,
    };
  }
}

const setupComplete = () => conflict('Setup is already complete: sign in with an existing account.');
