/** Counts every answered request and its duration, labelled by route pattern (never the raw URL). */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';

export function installHttpMetrics(app: FastifyInstance, metrics: Metrics): void {
  // A callback hook (every request runs it; an async one costs a promise each time).
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: request.method, route, status_code: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });
}
