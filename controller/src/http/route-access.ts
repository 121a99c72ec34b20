/**
 * Every route declares who may call it, at registration, in `config.access`:
 *   { public: true }                                anyone (login, setup, probes)
 *   { user: 'recording:read', scope: 'scoped' }     a user holding that permission somewhere; the
 *                                                   service narrows to the caller's scope
 *   { user: 'auth:manage', scope: 'fleet' }         a user holding it over the whole fleet: what the
 *                                                   route reads or changes is fleet-wide by nature
 *   { user: 'authenticated' }                       any signed-in user (me, logout, own tokens)
 *   { agent: 'recording:control' }                  a node credential; the permission labels its audit events
 *   { user: …, scope: …, agent: … }                 either (dual-mode routes)
 * A route without a valid declaration stops the app at boot (deny by default): a user
 * permission must say whether it is fleet-wide. Every refusal here is audited by the error
 * handler (denial-audit.ts), like the refusals services raise.
 *
 * A bearer shaped like a JWT is a web front end's token when its secret is configured
 * (frontend-token.ts): a Discord user, limited to the attendance routes of the token's
 * guild and to users Discord says have Manage Server there.
 */
import type {} from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ERROR_CODES } from '../../../shared/src/errors.js';
import { isPermission, type Permission } from '../../../shared/src/permissions.js';
import { AppError, forbidden, unauthenticated } from '../core/errors.js';
import {
  ANONYMOUS,
  type CallContext,
  DISCORD_PRINCIPAL_PERMISSIONS,
  type DiscordPrincipal,
  type Principal,
  type UserPrincipal,
} from '../core/principal.js';
import { ROUTE_SCOPES, type RouteAccess, type RouteInfo, type RouteScope } from '../core/routes.js';
import { type FrontendTokenGate, looksLikeJwt } from './frontend-token.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    principal: Principal;
  }
}

export const SESSION_COOKIE = 'earshot_session';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** The only routes a front-end token reaches (and only for the guild in its claims). */
const GUILD_ROUTE_PREFIX = '/api/v1/guilds/:guildId/';

export interface Authenticator {
  /** A user's session or API token; undefined when not valid. */
  resolveUserSecret(secret: string): Promise<Principal | undefined>;
  /** A node credential `<nodeId>.<secret>`; undefined when not valid. */
  resolveNodeCredential(credential: string): Promise<Principal | undefined>;
}

export function validateAccess(
  method: string | string[],
  url: string,
  access: unknown,
): asserts access is RouteAccess {
  const where = `${Array.isArray(method) ? method.join(',') : method} ${url}`;
  if (!access || typeof access !== 'object')
    throw new Error(`route ${where} declares no access (config.access)`);
  const a = access as Record<string, unknown>;
  if (a.public === true) {
    if (a.user || a.agent) throw new Error(`route ${where}: public routes take no permission`);
    return;
  }
  if (!a.user && !a.agent) throw new Error(`route ${where}: declare user and/or agent permission`);
  if (a.user && a.user !== 'authenticated') {
    if (!isPermission(String(a.user)))
      throw new Error(`route ${where}: unknown permission ${String(a.user)}`);
    if (!ROUTE_SCOPES.includes(a.scope as RouteScope))
      throw new Error(
        `route ${where}: declare scope: 'fleet' (fleet-wide by nature) or 'scoped' (narrowed to the caller's scope)`,
      );
  } else if (a.scope !== undefined) {
    throw new Error(`route ${where}: scope applies to a user permission only`);
  }
  if (a.agent && !isPermission(String(a.agent)))
    throw new Error(`route ${where}: unknown permission ${String(a.agent)}`);
}

export function callContext(request: FastifyRequest): CallContext {
  return { principal: request.principal, request: { requestId: request.id, sourceIp: request.ip } };
}

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw unauthenticated('Authorization header must be "Bearer <token>".');
  return match[1];
}

/** Who presented what: the principal it resolves to, and how a refusal should read. */
interface Presented {
  principal: Principal;
  /** A credential was sent (a refusal is then "not valid", audited, not "sign in"). */
  presented: boolean;
  viaCookie: boolean;
  frontendRefusal?: string;
}

function deny(error: AppError, permission: Permission | undefined, reason: string): never {
  throw error.deny({ permission, reason });
}

/** Resolves the caller from a front-end token, a bearer secret or the session cookie. */
async function authenticate(
  request: FastifyRequest,
  authenticator: Authenticator,
  frontend: FrontendTokenGate | undefined,
): Promise<Presented> {
  const bearer = bearerOf(request);
  if (bearer && frontend && looksLikeJwt(bearer)) {
    const verified = await frontend.verify(bearer);
    if (!verified.ok)
      return { principal: ANONYMOUS, presented: true, viaCookie: false, frontendRefusal: verified.reason };
    const { userId, guildId } = verified;
    return {
      principal: { kind: 'discord', userId, guildId, via: 'frontend-token' },
      presented: true,
      viaCookie: false,
    };
  }
  if (bearer) {
    const principal =
      (await authenticator.resolveUserSecret(bearer)) ??
      (await authenticator.resolveNodeCredential(bearer)) ??
      ANONYMOUS;
    return { principal, presented: true, viaCookie: false };
  }
  const cookie = request.cookies?.[SESSION_COOKIE];
  if (!cookie) return { principal: ANONYMOUS, presented: false, viaCookie: false };
  return {
    principal: (await authenticator.resolveUserSecret(cookie)) ?? ANONYMOUS,
    presented: true,
    viaCookie: true,
  };
}

function refuseAnonymous({ presented, frontendRefusal }: Presented): never {
  if (frontendRefusal !== undefined)
    deny(
      unauthenticated(`The front-end token was refused: ${frontendRefusal}. Mint a new one.`),
      undefined,
      `front-end token refused: ${frontendRefusal}`,
    );
  if (presented)
    deny(
      unauthenticated('Your session or token is not valid (expired or revoked); sign in again.'),
      undefined,
      'invalid credential',
    );
  throw unauthenticated();
}

/** A web front end's Discord user: its own guild's attendance routes, with Manage Server there. */
async function authorizeDiscord(
  request: FastifyRequest,
  principal: DiscordPrincipal,
  access: RouteAccess,
  frontend: FrontendTokenGate,
): Promise<void> {
  // Cheap checks first: no Discord call for a route the token can never use.
  const permission = access.user === 'authenticated' ? undefined : access.user;
  if (
    !permission ||
    !DISCORD_PRINCIPAL_PERMISSIONS.has(permission) ||
    !request.routeOptions.url?.startsWith(GUILD_ROUTE_PREFIX)
  )
    deny(
      forbidden('A front-end token only reaches the attendance routes under /api/v1/guilds/{guild_id}/.'),
      permission ?? access.agent,
      'front-end token outside guild attendance routes',
    );
  if ((request.params as { guildId?: string }).guildId !== principal.guildId)
    deny(
      forbidden('This front-end token is for another guild; mint one for the guild in the path.'),
      permission,
      'front-end token for another guild',
    );
  // 503 when the bot cannot answer: not the caller's fault, so not a denial.
  if (!(await frontend.canManageGuild(principal.guildId, principal.userId)))
    deny(
      forbidden('This Discord user needs Manage Server in this guild.'),
      permission,
      'discord user lacks manage server',
    );
}

/** A user: a user route, the CSRF token on cookie-authenticated changes, the permission (fleet-wide if declared). */
function authorizeUser(
  request: FastifyRequest,
  principal: UserPrincipal,
  access: RouteAccess,
  viaCookie: boolean,
) {
  if (!access.user)
    deny(forbidden('This route is for agents (node credential).'), access.agent, 'user on agent route');
  if (viaCookie && !SAFE_METHODS.has(request.method)) {
    const sent = request.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || sent !== principal.csrfToken)
      deny(
        new AppError(403, ERROR_CODES.csrf, `Send the CSRF token from login in the ${CSRF_HEADER} header.`),
        undefined,
        'csrf token missing or wrong',
      );
  }
  if (access.user === 'authenticated') return;
  if (access.scope === 'fleet' && !principal.access.hasFleet(access.user))
    deny(
      forbidden(
        `You need the ${access.user} permission over the whole fleet: this applies fleet-wide, ` +
          'so a grant over a site or a node is not enough.',
      ),
      access.user,
      'permission not held over the fleet',
    );
  if (!principal.access.has(access.user))
    deny(forbidden(`You need the ${access.user} permission.`), access.user, 'permission not held');
}

/**
 * Installs authentication and the permission gate; returns the (growing) list of declared
 * routes. `frontend` is set when a front-end token secret is configured.
 */
export function installAccessControl(
  app: FastifyInstance,
  authenticator: Authenticator,
  frontend?: FrontendTokenGate,
): RouteInfo[] {
  const routes: RouteInfo[] = [];
  app.decorateRequest('principal', null as never);
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    validateAccess(route.method, route.url, access);
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') {
        const { body, querystring, params } = (route.schema ?? {}) as RouteInfo['schema'] & object;
        routes.push({ method, url: route.url, access, schema: { body, querystring, params } });
      }
    }
  });

  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access;
    if (!access) return; // 404 handler
    const presented = await authenticate(request, authenticator, frontend);
    const { principal } = presented;
    request.principal = principal;
    if (access.public) return;
    // No credential names the system: only the controller's own work acts as it.
    if (principal.kind === 'anonymous' || principal.kind === 'system') refuseAnonymous(presented);
    if (principal.kind === 'node') {
      if (!access.agent)
        deny(
          forbidden('This route is for users, not agents.'),
          access.user === 'authenticated' ? undefined : access.user,
          'agent on user route',
        );
      return;
    }
    if (principal.kind === 'discord') return authorizeDiscord(request, principal, access, frontend!);
    authorizeUser(request, principal, access, presented.viaCookie);
  });
  return routes;
}
