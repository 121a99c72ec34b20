import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import Type from 'typebox';
import type { Config } from '../../../config.js';
import {
  clampLimit,
  Data,
  ErrorResponse,
  NoContent,
  PageOf,
  PageOnlyQuery,
} from '../../../core/pagination.js';
import type { UserPrincipal } from '../../../core/principal.js';
import { callContext, SESSION_COOKIE } from '../../../http/route-access.js';
import {
  ApiToken,
  CreateApiTokenBody,
  CreatedApiToken,
  IdParams,
  LoginBody,
  LoginResponse,
  MeResponse,
  SetupBody,
  UserSummary,
} from './auth.schemas.js';
import type { AuthService, LoginResult } from './auth.service.js';

/** The session cookie, the same for every way of signing in (password, OIDC). */
export function setSessionCookie(
  reply: FastifyReply,
  session: Pick<LoginResult, 'token' | 'expiresAt'>,
  config: Pick<Config, 'cookieSecure'>,
): void {
  reply.setCookie(SESSION_COOKIE, session.token, {
    httpOnly: true,
    sameSite: 'strict',
    secure: config.cookieSecure,
    path: '/',
    expires: session.expiresAt,
  });
}

export function authRoutes(
  auth: AuthService,
  config: Pick<Config, 'cookieSecure'>,
): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/setup',
      {
        config: { access: { public: true } },
        schema: {
          tags: ['auth'],
          summary: 'Whether first-run setup is still needed',
          response: { 200: Data(Type.Object({ setupNeeded: Type.Boolean() })) },
        },
      },
      async () => ({ data: { setupNeeded: await auth.setupNeeded() } }),
    );

    app.post(
      '/setup',
      {
        config: { access: { public: true } },
        schema: {
          tags: ['auth'],
          summary: 'Create the first owner (refused once one exists)',
          body: SetupBody,
          response: { 201: Data(UserSummary), 409: ErrorResponse },
        },
      },
      async (request, reply) =>
        reply.status(201).send({ data: await auth.setup(request.body, callContext(request)) }),
    );

    app.post(
      '/auth/login',
      {
        config: { access: { public: true } },
        schema: {
          tags: ['auth'],
          summary: 'Sign in; sets the session cookie',
          body: LoginBody,
          response: { 200: LoginResponse, 401: ErrorResponse, 429: ErrorResponse },
        },
      },
      async (request, reply) => {
        const result = await auth.login(
          { ...request.body, userAgent: request.headers['user-agent'] },
          callContext(request),
        );
        setSessionCookie(reply, result, config);
        return { data: { ...result, expiresAt: result.expiresAt.toISOString() } };
      },
    );

    app.post(
      '/auth/logout',
      {
        config: { access: { user: 'authenticated' } },
        schema: { tags: ['auth'], summary: 'Revoke the current session', response: { 204: NoContent } },
      },
      async (request, reply) => {
        await auth.logout(callContext(request));
        reply.clearCookie(SESSION_COOKIE, { path: '/' });
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/auth/refresh',
      {
        config: { access: { user: 'authenticated' } },
        schema: {
          tags: ['auth'],
          summary: 'Swap your session for a new one (new token and CSRF token; the old one stops working)',
          response: { 200: LoginResponse, 401: ErrorResponse, 403: ErrorResponse },
        },
      },
      async (request, reply) => {
        const result = await auth.refresh(callContext(request), request.headers['user-agent']);
        setSessionCookie(reply, result, config);
        return { data: { ...result, expiresAt: result.expiresAt.toISOString() } };
      },
    );

    app.get(
      '/auth/me',
      {
        config: { access: { user: 'authenticated' } },
        schema: {
          tags: ['auth'],
          summary: 'Current user and resolved permissions',
          response: { 200: MeResponse },
        },
      },
      async (request) => ({ data: await auth.me(request.principal as UserPrincipal) }),
    );

    app.get(
      '/auth/api-tokens',
      {
        config: { access: { user: 'authenticated' } },
        schema: {
          tags: ['auth'],
          summary: 'Your personal API tokens, newest first, revoked ones too (hints only)',
          querystring: PageOnlyQuery,
          response: { 200: PageOf(ApiToken), 400: ErrorResponse },
        },
      },
      async (request) =>
        auth.listApiTokens(
          (request.principal as UserPrincipal).userId,
          clampLimit(request.query.limit),
          request.query.cursor,
        ),
    );

    app.post(
      '/auth/api-tokens',
      {
        config: { access: { user: 'authenticated' } },
        schema: {
          tags: ['auth'],
          summary: 'Create a personal API token (shown once)',
          body: CreateApiTokenBody,
          response: { 201: CreatedApiToken },
        },
      },
      async (request, reply) =>
        reply.status(201).send({ data: await auth.createApiToken(request.body, callContext(request)) }),
    );

    app.delete(
      '/auth/api-tokens/:id',
      {
        config: { access: { user: 'authenticated' } },
        schema: {
          tags: ['auth'],
          summary: 'Revoke one of your API tokens',
          params: IdParams,
          response: { 204: NoContent, 404: ErrorResponse },
        },
      },
      async (request, reply) => {
        await auth.revokeApiToken(request.params.id, callContext(request));
        return reply.status(204).send(null);
      },
    );
  };
}
