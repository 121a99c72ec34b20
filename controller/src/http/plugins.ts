/** The cross-cutting HTTP plugins, installed once before any module's routes (app.ts). */
import fastifyCookie from '@fastify/cookie';
import fastifyWebsocket from '@fastify/websocket';
import type { ModuleCore } from '../platform/module.js';
import { denialAuditor } from './denial-audit.js';
import { installErrorHandler } from './error-handler.js';
import { installHttpMetrics } from './http-metrics.js';
import { installOpenApi } from './openapi.js';
import { installRequestIdHeader } from './request-id.js';
import type { HttpServer } from './server.js';
import { installValidation, type Validators } from './validation.js';

/** The cross-cutting HTTP plugins, each in its own file under http/. */
export async function installPlugins(
  app: HttpServer,
  { audit, metrics, config }: ModuleCore,
  validators?: Validators,
): Promise<void> {
  installErrorHandler(app, denialAuditor(audit));
  installValidation(app, validators);
  installRequestIdHeader(app);
  installHttpMetrics(app, metrics);
  await app.register(fastifyCookie);
  // One WebSocket server for the app (MQTT over WebSocket); messages capped like HTTP bodies.
  await app.register(fastifyWebsocket, { options: { maxPayload: config.maxBodyBytes } });
  await installOpenApi(app);
}
