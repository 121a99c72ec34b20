/**
 * Live listen: sessions, their single-use tickets and WebSockets, and the relay of each agent
 * stream to its listeners (listen.service.ts). Frames arrive from the broker through the
 * `listen.onFrame` port, and over HTTP while an agent's MQTT is down (`POST …/listen/chunk`,
 * handed to the broker's inbox); agents' command results and reconnects come from the nodes
 * module.
 */
import type { AgentInbox } from '../../core/agent-inbox.js';
import type { NodeNotifier } from '../../core/node-commands.js';
import type { NodeDirectory } from '../../core/node-directory.js';
import type { AppModule, ModuleCore } from '../../platform/module.js';
import { PeriodicTask } from '../../platform/periodic-task.js';
import { listenChunkRoutes, listenRoutes, listenSocketPath } from './listen.routes.js';
import { type ListenAccess, ListenService } from './listen.service.js';

export type { ListenService } from './listen.service.js';

/** How often tickets expire, streams renew and access is re-checked. */
const TICK_MS = 1000;

export function createListenModule(
  core: ModuleCore,
  ports: {
    nodes: Pick<NodeDirectory, 'scopeOf'> & {
      onConnected(listener: (nodeId: string) => Promise<void>): void;
    };
    commandResults: { onResult: (listener: ListenService['onResult']) => void };
    notifyNode: NodeNotifier;
    auth: Pick<ListenAccess, 'current'>;
    accessGeneration: ListenAccess['generation'];
    /** Frames agents send over HTTP go through the broker, as published ones do. */
    inbox: AgentInbox;
  },
): AppModule<{ listen: ListenService }> {
  const listen = new ListenService({
    nodes: ports.nodes,
    notifyNode: ports.notifyNode,
    access: { current: (principal) => ports.auth.current(principal), generation: ports.accessGeneration },
    audit: core.audit,
    metrics: core.metrics,
    log: core.log,
    now: core.now,
    websocketPath: (nodeId) => `/api/v1${listenSocketPath(nodeId)}`,
    inbox: ports.inbox,
  });
  ports.commandResults.onResult((from, result) => listen.onResult(from, result));
  ports.nodes.onConnected((nodeId) => listen.onConnected(nodeId));
  const sweep = new PeriodicTask({
    what: 'live listen sweep',
    pass: () => listen.tick(),
    log: core.log,
    ops: core.ops,
    intervalMs: TICK_MS,
    passAtStart: false,
  });
  return {
    name: 'listen',
    routes: [listenRoutes(listen), listenChunkRoutes(listen)],
    components: [
      {
        name: 'listen sessions',
        start: async () => sweep.start(),
        stop: async () => {
          await sweep.stop();
          await listen.stopAll();
        },
      },
    ],
    ports: { listen },
  };
}
