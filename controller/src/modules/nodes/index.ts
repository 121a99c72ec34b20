/**
 * Nodes: enrollment, credentials, presence and the node directory the broker and other
 * modules check node-owned objects against; editing, decommissioning and deleting nodes, and
 * the command results agents report; lifecycle actions (restart, reload, rotate, upload,
 * diagnostics) and their jobs; the audio interfaces agents report and operators label.
 */
import type { AppModule, ModuleCore } from '../../platform/module.js';
import { CommandResultLog } from './command-results.js';
import type { AccessGeneration } from './credential-cache.js';
import { InterfacesRepository } from './interfaces.repository.js';
import { interfacesRoutes } from './interfaces.routes.js';
import { InterfacesService } from './interfaces.service.js';
import { LifecycleRepository } from './lifecycle.repository.js';
import { lifecycleRoutes } from './lifecycle.routes.js';
import { LifecycleService } from './lifecycle.service.js';
import { type AgentLink, NodeManagementService } from './node-management.service.js';
import { NodeSettings, type SettingsReader } from './node-settings.js';
import { NodesRepository } from './nodes.repository.js';
import { nodesRoutes } from './nodes.routes.js';
import { NodesService } from './nodes.service.js';

export type { AgentLink } from './node-management.service.js';
export { NodeId } from './nodes.schemas.js';
export type { NodesService } from './nodes.service.js';
export type { CommandResultLog, LifecycleService, NodeManagementService };

export function createNodesModule(
  core: ModuleCore,
  ports: {
    link: AgentLink;
    settings?: SettingsReader;
    /** The access module's generation: verified node credentials are cached while it holds. */
    accessGeneration?: AccessGeneration;
  },
): AppModule<{
  nodes: NodesService;
  nodeManagement: NodeManagementService;
  commandResults: CommandResultLog;
  lifecycle: LifecycleService;
}> {
  const { db, audit, config, now, metrics, log } = core;
  const repo = new NodesRepository(db, core.raw);
  const settings = new NodeSettings(ports.settings);
  const nodes = new NodesService(db, repo, audit, config, now, settings, core.changes);
  if (ports.accessGeneration) nodes.cacheCredentialsWith(ports.accessGeneration);
  const commandResults = new CommandResultLog(log, now);
  const lifecycle = new LifecycleService({
    db,
    repo: new LifecycleRepository(db),
    nodes,
    audit,
    notify: ports.link.notify,
    log,
    now,
    ops: core.ops,
  });
  commandResults.onResult((from, result) => lifecycle.onResult(from, result));
  nodes.onConnected((nodeId) => lifecycle.onConnected(nodeId));
  nodes.adoptCredentialsWith((nodeId, secret) => lifecycle.adoptCredential(nodeId, secret));
  const nodeManagement = new NodeManagementService({
    db,
    repo,
    nodes,
    audit,
    link: ports.link,
    results: commandResults,
    log,
    now,
    changes: core.changes,
  });
  const interfaces = new InterfacesService({
    db,
    repo: new InterfacesRepository(),
    nodes,
    audit,
    notify: ports.link.notify,
    now,
  });
  return {
    name: 'nodes',
    routes: [
      nodesRoutes(nodes, nodeManagement, interfaces),
      interfacesRoutes(interfaces),
      lifecycleRoutes(lifecycle),
    ],
    // Times out lifecycle jobs not sent before their expiry, or not answered.
    components: [
      { name: 'node lifecycle jobs', start: async () => lifecycle.start(), stop: () => lifecycle.stop() },
    ],
    collectors: [
      async () => {
        metrics.nodesOnline.set(nodes.onlineCount());
        // Every node in service by name: an alert names the one that is offline.
        metrics.nodeOnline.reset();
        for (const node of await nodes.presences())
          metrics.nodeOnline.set({ node: node.id, name: node.name }, node.online ? 1 : 0);
        metrics.nodeHeadroomHours.reset();
        for (const [node, hours] of nodes.headroomHours()) metrics.nodeHeadroomHours.set({ node }, hours);
      },
    ],
    ports: { nodes, nodeManagement, commandResults, lifecycle },
  };
}
