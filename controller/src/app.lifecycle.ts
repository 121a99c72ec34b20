/** The composition root's lifecycle: the order its components start and stop in. */
import type { LeaderElection } from './cluster/leader-election.js';
import type { HttpServer } from './http/server.js';
import { Lifecycle } from './platform/lifecycle.js';
import type { AppModule, Component } from './platform/module.js';

/**
 * Started in this order, stopped in reverse: open meter and listen streams end (or HTTP could not drain),
 * HTTP stops accepting, the leader's work stops (bot, then resets, then the open sessions are
 * saved), pending webhooks and events drain, keys are locked, the broker closes.
 */
export function lifecycleOf(
  app: HttpServer,
  broker: Component,
  modules: AppModule[],
  streaming: AppModule[],
  leader: LeaderElection,
  /** The operational log: first to start (controller.started), last to stop (its writes drain). */
  opsLog?: { component: Component },
) {
  const streams = streaming.flatMap((m) => m.components ?? []);
  const lifecycle = new Lifecycle(app.log);
  lifecycle.add(
    ...(opsLog ? [opsLog.component] : []),
    broker,
    ...modules.flatMap((m) => m.components ?? []).filter((c) => !streams.includes(c)),
    // Routes compiled first (seconds of a busy event loop at start): the leader's heartbeat must not
    // starve for its session's idle timeout, which would hand the lock over as the replica starts.
    {
      name: 'leadership',
      start: async () => {
        await app.ready();
        await leader.start();
      },
      stop: () => leader.stop(),
    },
    { name: 'http', stop: () => app.close() },
    ...streams,
  );
  return lifecycle;
}
