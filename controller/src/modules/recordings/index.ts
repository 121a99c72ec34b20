/**
 * Recordings: ad-hoc recordings, the recording jobs agents claim under a lease, and the
 * resumable, verified uploads that complete them.
 */
import { JobStates } from '../../../../shared/src/agent-api.js';
import type { AppModule, ModuleCore } from '../../platform/module.js';
import type { NodesService } from '../nodes/index.js';
import { RecordingFileStore } from './file-store.js';
import { JobsRepository } from './jobs.repository.js';
import { jobsRoutes } from './jobs.routes.js';
import { JobsService } from './jobs.service.js';
import { RecordingsRepository } from './recordings.repository.js';
import { recordingsRoutes } from './recordings.routes.js';
import { type NodeNotifier, RecordingsService } from './recordings.service.js';
import { uploadsRoutes } from './uploads.routes.js';
import { UploadsService } from './uploads.service.js';

export type { NodeNotifier } from './recordings.service.js';
export type { JobsService, RecordingsService, UploadsService };

export function createRecordingsModule(
  core: ModuleCore,
  ports: { nodes: NodesService; notifyNode: NodeNotifier },
): AppModule<{ recordings: RecordingsService; jobs: JobsService; uploads: UploadsService }> {
  const { db, provider, audit, config, metrics, now } = core;
  const recordingsRepo = new RecordingsRepository(db);
  const jobsRepo = new JobsRepository(db, provider);
  const files = new RecordingFileStore(config.dataDir);
  const recordings = new RecordingsService({
    db,
    recordings: recordingsRepo,
    jobs: jobsRepo,
    nodes: ports.nodes,
    audit,
    files,
    now,
    notifyNode: ports.notifyNode,
  });
  const jobs = new JobsService({
    db,
    jobs: jobsRepo,
    recordings: recordingsRepo,
    nodes: ports.nodes,
    audit,
    files,
    config,
    now,
  });
  const uploads = new UploadsService({
    db,
    recordings: recordingsRepo,
    jobs: jobsRepo,
    audit,
    files,
    metrics,
    config,
    now,
  });
  return {
    name: 'recordings',
    routes: [recordingsRoutes(recordings), jobsRoutes(jobs), uploadsRoutes(uploads)],
    collectors: [
      async () => {
        const counts = await jobs.countByState();
        for (const state of JobStates) metrics.jobs.set({ state }, counts.get(state) ?? 0);
      },
    ],
    ports: { recordings, jobs, uploads },
  };
}
