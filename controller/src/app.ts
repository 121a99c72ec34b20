/**
 * The controller's composition root: repositories → services → routes and adapters,
 * in a fixed order. Nothing else constructs services; nothing reaches the database
 * except through a repository.
 */
import { randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import type { Db, Provider } from './db/client.js';
import { installErrorHandler } from './http/errors.js';
import { installAccessControl, type RouteInfo } from './http/route-access.js';
import { Metrics } from './metrics.js';
import { AuditRepository } from './modules/audit/audit.repository.js';
import { auditRoutes } from './modules/audit/audit.routes.js';
import { AuditService } from './modules/audit/audit.service.js';
import { authRoutes } from './modules/auth/auth.routes.js';
import { AuthService } from './modules/auth/auth.service.js';
import { LoginThrottle } from './modules/auth/login-throttle.js';
import { ApiTokensRepository, SessionsRepository } from './modules/auth/sessions.repository.js';
import { UsersRepository } from './modules/auth/users.repository.js';
import { NodesRepository } from './modules/nodes/nodes.repository.js';
import { nodesRoutes } from './modules/nodes/nodes.routes.js';
import { NodesService } from './modules/nodes/nodes.service.js';
import { type ReadinessCheck, systemRoutes } from './modules/system/system.routes.js';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export interface AppDeps {
  config: Config;
  db: Db;
  provider: Provider;
  /** Injected clock (tests); defaults to the wall clock. */
  now?: () => Date;
  logger?: boolean | object;
}

export interface ControllerApp {
  app: FastifyInstance;
  metrics: Metrics;
  services: {
    audit: AuditService;
    auth: AuthService;
    nodes: NodesService;
  };
  /** Every declared route with its access (for invariant tests and the RBAC matrix). */
  routes: RouteInfo[];
  /** Extra readiness checks (the broker adds its own when it starts). */
  readiness: ReadinessCheck[];
  /** Registers a closer; `close` runs them in reverse order, then drains HTTP. */
  onClose: (fn: () => Promise<void>) => void;
  close: () => Promise<void>;
}

export async function buildApp(deps: AppDeps): Promise<ControllerApp> {
  const { config, db, provider } = deps;
  const now = deps.now ?? (() => new Date());

  const app = Fastify({
    logger: deps.logger ?? {
      level: config.logLevel,
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-csrf-token"]'],
        remove: true,
      },
    },
    bodyLimit: config.maxBodyBytes,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
    },
    requestIdHeader: false,
    trustProxy: false,
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const metrics = new Metrics();
  const readiness: ReadinessCheck[] = [
    {
      name: 'database',
      check: async () => {
        await db.$queryRawUnsafe('SELECT 1');
        return true;
      },
    },
  ];
  const closers: (() => Promise<void>)[] = [];

  // Repositories
  const auditRepo = new AuditRepository(db, provider);
  const usersRepo = new UsersRepository(db, provider);
  const sessionsRepo = new SessionsRepository(db);
  const apiTokensRepo = new ApiTokensRepository(db);
  const nodesRepo = new NodesRepository(db);

  // Services
  const audit = new AuditService(db, auditRepo, now);
  const throttle = new LoginThrottle(
    config.loginFailuresPerAccountPerHour,
    config.loginFailuresPerAddressPerHour,
    () => now().getTime(),
  );
  const auth = new AuthService(db, usersRepo, sessionsRepo, apiTokensRepo, audit, throttle, config, now);
  const nodes = new NodesService(db, nodesRepo, audit, config, now);

  metrics.onCollect(async () => metrics.nodesOnline.set(nodes.onlineCount()));

  // HTTP plumbing
  installErrorHandler(app);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: request.method, route, status_code: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  await app.register(fastifyCookie);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Earshot controller API', version: '0.1.0' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          session: { type: 'apiKey', in: 'cookie', name: 'earshot_session' },
        },
      },
    },
  });
  const routes = installAccessControl(
    app,
    {
      resolveUserSecret: (secret) => auth.resolve(secret),
      resolveNodeCredential: (credential) => nodes.authenticate(credential),
    },
    audit,
  );

  // Routes
  await app.register(
    systemRoutes({ metrics, readiness, metricsAllowAnonymous: config.metricsAllowAnonymous }),
  );
  await app.register(
    async (api) => {
      await api.register(authRoutes(auth, config));
      await api.register(auditRoutes(audit));
      await api.register(nodesRoutes(nodes));
    },
    { prefix: '/api/v1' },
  );

  return {
    app,
    metrics,
    services: { audit, auth, nodes },
    routes,
    readiness,
    onClose: (fn) => closers.push(fn),
    close: async () => {
      for (const close of closers.reverse())
        await close().catch((err) => app.log.error({ err }, 'close failed'));
      await app.close();
    },
  };
}
