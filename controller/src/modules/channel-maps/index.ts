/**
 * Channel maps: templates (named channel layouts, the `channel-map-templates` settings family,
 * handed to the settings module), their assignments to nodes (history, rollback, bulk), staged
 * plans of assignment changes (diff, atomic apply, discard), the agent's resolved map, and the
 * `channelMaps` port recordings use to split a recording per channel group.
 */
import type { NodeNotifier } from '../../core/node-commands.js';
import type { AppModule, ModuleCore } from '../../platform/module.js';
import type { NodesService } from '../nodes/index.js';
import { createSettingsRevisions, type SettingsService } from '../settings/index.js';
import { ChannelMapAssignments } from './channel-map-assignments.service.js';
import { ChannelMapPlans } from './channel-map-plans.service.js';
import { ChannelMapsRepository } from './channel-maps.repository.js';
import { channelMapsRoutes } from './channel-maps.routes.js';
import { type ChannelMapsPort, ChannelMapsService } from './channel-maps.service.js';

export { channelMapTemplates } from './channel-map-templates.js';
export type { ChannelMapsPort };

/** `settings` must have been built with `channelMapTemplates` among its families. */
export function createChannelMapsModule(
  core: ModuleCore,
  ports: { nodes: NodesService; settings: SettingsService; notifyNode: NodeNotifier },
): AppModule<{ channelMaps: ChannelMapsPort }> {
  const { db, audit, now, changes } = core;
  const repo = new ChannelMapsRepository(db);
  const revisions = createSettingsRevisions(core);
  const assignments = new ChannelMapAssignments({ db, repo, revisions, audit, changes, now, ...ports });
  const service = new ChannelMapsService(assignments, repo);
  const plans = new ChannelMapPlans({ assignments, repo, audit, now });
  return {
    name: 'channel-maps',
    routes: [channelMapsRoutes(service, plans)],
    ports: { channelMaps: service },
  };
}
