/**
 * The web front end's token (README, "Discord attendance"): a BFF that signed a Discord
 * user in mints a 60-second HS256 JWT with `user_id`, `guild_id` and `exp`, signed with a
 * secret it shares with the controller, and sends it as `Authorization: Bearer`. The token only says who the BFF vouches
 * for; the access hook still asks Discord whether that user has Manage Server in the
 * guild, and that answer is cached here for a short while.
 */

import { errors, type JWTPayload, jwtVerify } from 'jose';
import { ERROR_CODES } from '../../../shared/src/errors.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/** How long a front-end token may live; a later `exp` is refused, so a BFF cannot mint long-lived tokens. */
export const FRONTEND_TOKEN_TTL_SECONDS = 60;
/** Clock difference tolerated between the BFF and the controller, on `exp` and `iat`. */
export const FRONTEND_TOKEN_SKEW_SECONDS = 5;

const SNOWFLAKE = /^\d{17,20}$/;
/** Three base64url segments; the signature may be empty (alg "none"), which the verifier then refuses. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Whether a bearer is shaped like a JWT (user secrets have no dot, node credentials one). */
export function looksLikeJwt(bearer: string): boolean {
  return COMPACT_JWS.test(bearer);
}

export type FrontendTokenResult =
  | { ok: true; userId: string; guildId: string; expiresAt: Date }
  | { ok: false; reason: string };

const ALG_REFUSED = 'algorithm not allowed (HS256 only)';
/** jose's error codes → the reason told to the caller and written to the audit log. */
const JOSE_REASONS: Record<string, string> = {
  [errors.JWTExpired.code]: 'expired',
  [errors.JWSSignatureVerificationFailed.code]: 'bad signature',
  [errors.JOSEAlgNotAllowed.code]: ALG_REFUSED,
  [errors.JOSENotSupported.code]: ALG_REFUSED,
  [errors.JWSInvalid.code]: 'malformed',
  [errors.JWTInvalid.code]: 'malformed',
};

function refusal(error: unknown): string {
  if (error instanceof errors.JWTClaimValidationFailed) return `${error.claim}: ${error.reason}`;
  if (error instanceof errors.JOSEError) return JOSE_REASONS[error.code] ?? 'invalid token';
  return 'invalid token';
}

const refuse = (reason: string): FrontendTokenResult => ({ ok: false, reason });

export class FrontendTokenVerifier {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly now: () => Date,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  async verify(token: string): Promise<FrontendTokenResult> {
    const now = this.now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        requiredClaims: ['exp'],
        currentDate: now,
        clockTolerance: FRONTEND_TOKEN_SKEW_SECONDS,
      }));
    } catch (error) {
      return refuse(refusal(error));
    }
    const nowSeconds = now.getTime() / 1000;
    // jose has checked that exp is present, numeric and not past.
    const exp = payload.exp as number;
    if (exp > nowSeconds + FRONTEND_TOKEN_TTL_SECONDS + FRONTEND_TOKEN_SKEW_SECONDS)
      return refuse(`exp: more than ${FRONTEND_TOKEN_TTL_SECONDS} s ahead (front-end tokens live 60 s)`);
    if (payload.iat !== undefined && payload.iat > nowSeconds + FRONTEND_TOKEN_SKEW_SECONDS)
      return refuse('iat: in the future');
    const { user_id: userId, guild_id: guildId } = payload;
    if (typeof userId !== 'string' || !SNOWFLAKE.test(userId))
      return refuse('user_id: must be a Discord id (a string of 17-20 digits)');
    if (typeof guildId !== 'string' || !SNOWFLAKE.test(guildId))
      return refuse('guild_id: must be a Discord id (a string of 17-20 digits)');
    return { ok: true, userId, guildId, expiresAt: new Date(exp * 1000) };
  }
}

export interface ManageServerCacheOptions {
  /** How long a "has Manage Server" answer is trusted. */
  positiveTtlMs: number;
  /** Shorter, so a member just given the permission is not refused for long. */
  negativeTtlMs: number;
  /** Oldest entries are dropped past this. */
  maxEntries: number;
}

export const MANAGE_SERVER_CACHE: ManageServerCacheOptions = {
  positiveTtlMs: 60_000,
  negativeTtlMs: 10_000,
  maxEntries: 10_000,
};

/**
 * Discord's answer to "may this user manage this guild", per (guild, user), for a
 * short TTL: a BFF calls several routes per page, each with a fresh token. Concurrent
 * lookups for one pair share one Discord call; failures are not cached.
 */
export class ManageServerCache {
  private readonly entries = new Map<string, { allowed: boolean; untilMs: number }>();
  private readonly pending = new Map<string, Promise<boolean>>();

  constructor(
    private readonly check: (guildId: string, userId: string) => Promise<boolean>,
    private readonly now: () => Date,
    private readonly options: ManageServerCacheOptions = MANAGE_SERVER_CACHE,
  ) {}

  async canManage(guildId: string, userId: string): Promise<boolean> {
    const key = `${guildId}:${userId}`;
    const cached = this.entries.get(key);
    if (cached && cached.untilMs > this.now().getTime()) return cached.allowed;
    if (cached) this.entries.delete(key);
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const lookup = this.check(guildId, userId)
      .then((allowed) => {
        this.remember(key, allowed);
        return allowed;
      })
      .finally(() => this.pending.delete(key));
    this.pending.set(key, lookup);
    return lookup;
  }

  get size(): number {
    return this.entries.size;
  }

  private remember(key: string, allowed: boolean): void {
    const ttl = allowed ? this.options.positiveTtlMs : this.options.negativeTtlMs;
    this.entries.delete(key);
    for (const oldest of this.entries.keys()) {
      if (this.entries.size < this.options.maxEntries) break;
      this.entries.delete(oldest);
    }
    this.entries.set(key, { allowed, untilMs: this.now().getTime() + ttl });
  }
}

/** What the access hook needs for front-end tokens. */
export interface FrontendTokenGate {
  verify(token: string): Promise<FrontendTokenResult>;
  /** Manage Server (or owner, or Administrator) in the guild; cached. Throws 503 when Discord cannot answer. */
  canManageGuild(guildId: string, userId: string): Promise<boolean>;
}

export interface FrontendTokenGateDeps {
  secret: string;
  /** Discord's answer, uncached (the DiscordPort). */
  canManageGuild: (guildId: string, userId: string) => Promise<boolean>;
  now: () => Date;
  log: Pick<Logger, 'warn'>;
  cache?: ManageServerCacheOptions;
}

export function frontendTokenGate(deps: FrontendTokenGateDeps): FrontendTokenGate {
  const verifier = new FrontendTokenVerifier(deps.secret, deps.now);
  const cache = new ManageServerCache(deps.canManageGuild, deps.now, deps.cache);
  return {
    verify: (token) => verifier.verify(token),
    canManageGuild: async (guildId, userId) => {
      try {
        return await cache.canManage(guildId, userId);
      } catch (error) {
        // The bot's own 503 (not connected) passes; a Discord REST failure is also not the caller's fault.
        if (error instanceof AppError) throw error;
        deps.log.warn({ err: (error as Error).message, guildId }, 'Manage Server check failed');
        throw new AppError(
          503,
          ERROR_CODES.discordUnavailable,
          'Discord did not answer the Manage Server check; try again shortly.',
        );
      }
    },
  };
}
