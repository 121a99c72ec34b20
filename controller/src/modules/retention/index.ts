/**
 * Retention of the controller's store: the `controller`-scope retention policies applied on a
 * timer, on demand, or as a dry run (retention.service.ts; the plan: retention-plan.ts). What an
 * agent's cache keeps is its own (agent-cache policies are not applied here).
 */
import type { AppModule, ModuleCore } from '../../platform/module.js';
import { type DiskSpace, diskSpaceOf } from '../health/index.js';
import type { RecordingsService } from '../recordings/index.js';
import type { SettingsService } from '../settings/index.js';
import { RetentionRepository } from './retention.repository.js';
import { retentionRoutes } from './retention.routes.js';
import { RetentionService } from './retention.service.js';
import type { RetentionPolicy } from './retention-plan.js';

export type { RetentionService };

export function createRetentionModule(
  core: ModuleCore,
  ports: {
    recordings: RecordingsService;
    settings: SettingsService;
    /** The recordings' disk (tests pass a full one); default: statfs of the data directory. */
    diskSpace?: (dir: string) => Promise<DiskSpace>;
  },
): AppModule<{ retention: RetentionService }> {
  const { db, audit, log, now, config } = core;
  const space = ports.diskSpace ?? diskSpaceOf;
  const retention = new RetentionService({
    db,
    repo: new RetentionRepository(db),
    policies: async () =>
      (await ports.settings.all('retention-policies'))
        .map((p) => ({
          id: p.id,
          name: p.name,
          ...(p.body as Omit<RetentionPolicy, 'id' | 'name'> & { scope: string }),
        }))
        .filter((p) => p.scope === 'controller'),
    providers: async () => new Set((await ports.settings.all('upload-providers')).map((p) => p.id)),
    space: () => space(config.dataDir),
    removeFile: (recording) =>
      ports.recordings.removeFiles(recording.nodeId, recording.id, recording.filePath),
    audit,
    log,
    ops: core.ops,
    now,
  });
  return {
    name: 'retention',
    routes: [retentionRoutes(retention)],
    // On the leader: two replicas planning from one disk at once would both free the same shortfall.
    leaderComponents: [
      {
        name: 'retention',
        start: async (lease) => retention.start(() => lease.holds()),
        stop: () => retention.stop(),
      },
    ],
    ports: { retention },
  };
}
