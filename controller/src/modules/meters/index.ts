/**
 * Live meters: the latest frame per node in memory, fanned out to SSE subscribers within
 * their scope. Frames arrive from the broker through the `meters.record` port.
 */
import type { NodeDirectory } from '../../core/node-directory.js';
import type { AppModule, ModuleCore } from '../../platform/module.js';
import { metersRoutes } from './meters.routes.js';
import { MetersService } from './meters.service.js';
import { MeterStore } from './meters.store.js';

export type { MetersService } from './meters.service.js';

export function createMetersModule(
  core: ModuleCore,
  ports: { nodes: Pick<NodeDirectory, 'scopeOf'> },
): AppModule<{ meters: MetersService }> {
  const store = new MeterStore();
  const meters = new MetersService(store, ports.nodes, core.audit, core.metrics, core.now);
  return {
    name: 'meters',
    routes: [metersRoutes(meters)],
    // Open meter streams would otherwise hold the HTTP server open on close.
    components: [{ name: 'meter-streams', stop: async () => store.closeSubscriptions() }],
    ports: { meters },
  };
}
