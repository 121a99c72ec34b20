/**
 * The logger services and adapters take: pino's, which is also Fastify's (`app.log`), without
 * importing Fastify. Components ask for the levels they use, e.g. `Pick<Logger, 'warn'>`.
 */
import type { BaseLogger } from 'pino';

export type Logger = Pick<BaseLogger, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'>;
