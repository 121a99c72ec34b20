/**
 * Nodes: enrollment, credentials, presence and the node directory the broker and other
 * modules check node-owned objects against.
 */
import type { AppModule, ModuleCore } from '../../platform/module.js';
import { NodesRepository } from './nodes.repository.js';
import { nodesRoutes } from './nodes.routes.js';
import { NodesService } from './nodes.service.js';

export { NodeId } from './nodes.schemas.js';
export type { NodesService } from './nodes.service.js';

export function createNodesModule(core: ModuleCore): AppModule<{ nodes: NodesService }> {
  const { db, audit, config, now, metrics } = core;
  const nodes = new NodesService(db, new NodesRepository(db), audit, config, now);
  return {
    name: 'nodes',
    routes: [nodesRoutes(nodes)],
    collectors: [async () => metrics.nodesOnline.set(nodes.onlineCount())],
    ports: { nodes },
  };
}
