/** The Fastify instance: logging with secrets redacted, body limit, request ids, no proxy trust. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { requestId } from './request-id.js';

const LOG_REDACT = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-csrf-token"]'];
/**
 * Query parameters that carry a credential, by name: the WebSocket streams' single-use tickets (a
 * browser cannot set headers on a WebSocket), an OIDC callback's one-time `code`, and the names a
 * caller may try for a token that belongs in a header (`access_token`, `api_key`: refused, but
 * still never written to a log line).
 */
const SECRET_QUERY_NAME = /ticket|token|secret|passw|api[-_]?key|credential|signature|^code$/i;

function secretName(name: string): boolean {
  try {
    return SECRET_QUERY_NAME.test(decodeURIComponent(name.replace(/\+/g, ' ')));
  } catch {
    return SECRET_QUERY_NAME.test(name);
  }
}

/** The URL with the values of its secret-carrying query parameters as `[redacted]`. */
export function redactedUrl(url: string): string {
  const query = url.indexOf('?');
  if (query < 0) return url;
  return (
    url.slice(0, query) +
    url
      .slice(query)
      .replace(/([?&])([^&#=]*)=[^&#]*/g, (all, separator: string, name: string) =>
        secretName(name) ? `${separator}${name}=[redacted]` : all,
      )
  );
}

/** A request as its log lines show it: Fastify's default fields, the URL's credentials redacted. */
export function loggedRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactedUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** `logger`: false for none; an object (tests: level, stream) adds to the redacting defaults. */
export function createHttpServer(config: Config, logger?: boolean | object) {
  const defaults = {
    level: config.logLevel,
    redact: { paths: LOG_REDACT, remove: true },
    serializers: { req: loggedRequest },
  };
  return Fastify({
    logger: logger === false ? false : { ...defaults, ...(typeof logger === 'object' ? logger : {}) },
    bodyLimit: config.maxBodyBytes,
    genReqId: requestId,
    requestIdHeader: false,
    // Only the configured proxies' X-Forwarded-For names the caller (EARSHOT_TRUSTED_PROXIES).
    trustProxy: config.trustedProxies?.replace(/\s+/g, '') || false,
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();
}

export type HttpServer = ReturnType<typeof createHttpServer>;
