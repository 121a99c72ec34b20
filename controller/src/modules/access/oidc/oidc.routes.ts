import type {} from '@fastify/cookie';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '../../../config.js';
import { ErrorResponse } from '../../../core/pagination.js';
import { callContext } from '../../../http/route-access.js';
import { setSessionCookie } from '../auth/auth.routes.js';
import {
  OidcCallbackQuery,
  OidcDiscovery,
  OidcLoginQuery,
  OidcPublicConfig,
  Redirect,
} from './oidc.schemas.js';
import type { OidcService } from './oidc.service.js';

/** Binds a pending login to the browser that started it (login CSRF). */
const STATE_COOKIE = 'earshot_oidc_state';

export function oidcRoutes(
  oidc: OidcService,
  config: Pick<Config, 'cookieSecure' | 'oidcRedirectUrl'>,
): FastifyPluginAsyncTypebox {
  // Sent back only to the callback. Lax, not Strict: the callback is a top-level
  // navigation from the provider's site.
  const stateCookie = {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: config.cookieSecure,
    path: config.oidcRedirectUrl ? new URL(config.oidcRedirectUrl).pathname : '/',
  };

  return async (app) => {
    app.get(
      '/auth/oidc/config',
      {
        config: { access: { public: true } },
        schema: {
          tags: ['auth'],
          summary: 'Whether single sign-on is offered, and its button label',
          response: { 200: OidcPublicConfig },
        },
      },
      async () => ({ data: oidc.publicConfig() }),
    );

    app.get(
      '/auth/oidc/login',
      {
        config: { access: { public: true } },
        schema: {
          tags: ['auth'],
          summary: 'Start single sign-on: redirects to the identity provider',
          querystring: OidcLoginQuery,
          response: { 302: Redirect, 400: ErrorResponse, 404: ErrorResponse, 503: ErrorResponse },
        },
      },
      async (request, reply) => {
        const login = await oidc.startLogin(request.query.returnTo);
        reply.setCookie(STATE_COOKIE, login.state, { ...stateCookie, maxAge: login.maxAgeSeconds });
        reply.header('cache-control', 'no-store');
        return reply.redirect(login.redirectUrl, 302);
      },
    );

    app.get(
      '/auth/oidc/callback',
      {
        config: { access: { public: true } },
        schema: {
          tags: ['auth'],
          summary: 'Complete single sign-on: sets the session cookie and redirects (no token in any URL)',
          description:
            'The CSRF token for the new session is returned by GET /api/v1/auth/me, never in a URL.',
          querystring: OidcCallbackQuery,
          response: {
            302: Redirect,
            400: ErrorResponse,
            401: ErrorResponse,
            403: ErrorResponse,
            404: ErrorResponse,
            409: ErrorResponse,
          },
        },
      },
      async (request, reply) => {
        const browserState = request.cookies[STATE_COOKIE];
        reply.clearCookie(STATE_COOKIE, { path: stateCookie.path });
        // The callback URL carries the code: keep it out of caches and Referer headers.
        reply.header('cache-control', 'no-store');
        reply.header('referrer-policy', 'no-referrer');
        const rawQuery = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
        const { session, returnTo } = await oidc.completeLogin(
          { query: new URLSearchParams(rawQuery), browserState, userAgent: request.headers['user-agent'] },
          callContext(request),
        );
        setSessionCookie(reply, session, config);
        return reply.redirect(returnTo, 302);
      },
    );

    app.get(
      '/auth/oidc/discovery',
      {
        config: { access: { user: 'auth:manage', scope: 'fleet' } },
        schema: {
          tags: ['auth'],
          summary: "The identity provider's discovery document (cached for a minute)",
          response: { 200: OidcDiscovery, 404: ErrorResponse, 503: ErrorResponse },
        },
      },
      async () => ({ data: await oidc.discoveryDocument() }),
    );
  };
}
