/**
 * Live meters: the latest frame per node in memory, fanned out to SSE subscribers within
 * their scope, and watchdog calibration from them. Frames arrive from the broker through the
 * `meters.record` port, and from agents over HTTP when their MQTT is down (`POST …/meter-frame`,
 * handed to the broker's inbox so a cluster's replicas all see them).
 */
import type { AgentInbox } from '../../core/agent-inbox.js';
import type { NodeDirectory } from '../../core/node-directory.js';
import type { AppModule, ModuleCore } from '../../platform/module.js';
import { calibrationRoutes } from './calibration.routes.js';
import { CalibrationService, type WatchdogPolicy } from './calibration.service.js';
import { metersRoutes } from './meters.routes.js';
import { MetersService } from './meters.service.js';
import { MeterStore } from './meters.store.js';

export type { MeterFrames } from './meters.rate.js';
export { MAX_METER_STREAM_NODES, MeterNodesList } from './meters.schemas.js';
export type { MeterStreamOptions, MetersService } from './meters.service.js';
export { meterEventsChunk } from './meters.sse.js';

export function createMetersModule(
  core: ModuleCore,
  ports: {
    nodes: Pick<NodeDirectory, 'scopeOf'>;
    /** The settings module's current object reader (watchdog calibration reads the policy). */
    settings: { current(family: string, id: string): Promise<WatchdogPolicy | undefined> };
    /** Frames agents send over HTTP go through the broker, as published ones do. */
    inbox: AgentInbox;
  },
): AppModule<{ meters: MetersService }> {
  const store = new MeterStore();
  const meters = new MetersService(store, ports.nodes, core.audit, core.metrics, ports.inbox, core.now);
  const calibration = new CalibrationService({
    store,
    directory: ports.nodes,
    policy: (id) => ports.settings.current('watchdog-policies', id),
    audit: core.audit,
  });
  return {
    name: 'meters',
    routes: [metersRoutes(meters), calibrationRoutes(calibration)],
    // Open meter streams would otherwise hold the HTTP server open on close.
    components: [{ name: 'meter-streams', stop: async () => store.closeSubscriptions() }],
    ports: { meters },
  };
}
