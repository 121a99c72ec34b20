/** The Fastify instance: logging with secrets redacted, body limit, request ids, no proxy trust. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import type { Config } from '../config.js';
import { requestId } from './request-id.js';

const LOG_REDACT = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-csrf-token"]'];

export function createHttpServer(config: Config, logger?: boolean | object) {
  return Fastify({
    logger: logger ?? { level: config.logLevel, redact: { paths: LOG_REDACT, remove: true } },
    bodyLimit: config.maxBodyBytes,
    genReqId: requestId,
    requestIdHeader: false,
    trustProxy: false,
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();
}

export type HttpServer = ReturnType<typeof createHttpServer>;
