/**
 * Recordings: ad-hoc recordings, the recording jobs agents claim under a lease, and the
 * resumable, verified uploads that complete them.
 */
import { JobStates } from '../../../../shared/src/agent-api.js';
import { type HealthAlerts, NO_HEALTH_ALERTS } from '../../core/health-alerts.js';
import type { NodeNotifier } from '../../core/node-commands.js';
import type { Metrics } from '../../metrics.js';
import type { AppModule, Component, ModuleCore, RoutePlugin } from '../../platform/module.js';
import type { NodesService } from '../nodes/index.js';
import { agentCopiesRoutes } from './agent-copies.routes.js';
import { AgentCopiesService } from './agent-copies.service.js';
import { RecordingDeletions } from './deletion-hooks.js';
import { DownloadService } from './download.service.js';
import { RecordingFileStore } from './file-store.js';
import { JobControlService } from './job-control.service.js';
import { JobsRepository } from './jobs.repository.js';
import { jobsRoutes } from './jobs.routes.js';
import { JobsService } from './jobs.service.js';
import { LibraryRepository } from './library.repository.js';
import { libraryRoutes } from './library.routes.js';
import { LibraryService } from './library.service.js';
import { OccurrencesRepository } from './occurrences.repository.js';
import { occurrencesRoutes } from './occurrences.routes.js';
import { OccurrencesService } from './occurrences.service.js';
import { peaksRoutes } from './peaks.routes.js';
import { PeaksService, peaksWarmer } from './peaks.service.js';
import { playbackRoutes, playbackStreamPath } from './playback.routes.js';
import { type PlaybackAccess, PlaybackService } from './playback.service.js';
import { RecordingChanges } from './recording-changes.js';
import { RecordingsRepository } from './recordings.repository.js';
import { recordingsRoutes } from './recordings.routes.js';
import { type ChannelGroupSource, RecordingsService } from './recordings.service.js';
import { uploadsRoutes } from './uploads.routes.js';
import { UploadsService } from './uploads.service.js';

export type { CleanupResult, RecordingDeletions } from './deletion-hooks.js';
export { ACTIVE_JOB_STATES } from './jobs.service.js';
export type { OccurrencePlan } from './occurrences.repository.js';
export { SYNC_HORIZON_MS } from './occurrences.service.js';
export type { JobsService, OccurrencesService, PlaybackService, RecordingsService, UploadsService };

/** How often held jobs are checked for a lease that ran out (→ lost_contact). */
const CONTACT_SWEEP_MS = 10_000;

/** What the recordings module takes from the modules built before it. */
export interface RecordingsModulePorts {
  nodes: NodesService;
  notifyNode: NodeNotifier;
  channelMaps?: ChannelGroupSource;
  /** Missed occurrences and failing uploads become health events (the health module). */
  healthAlerts?: HealthAlerts;
  /** Who a playback session's caller is now (the access module): a revoked one's ticket stops. */
  auth: Pick<PlaybackAccess, 'current'>;
  accessGeneration: PlaybackAccess['generation'];
}

/** What the recordings module offers the modules built after it. */
export interface RecordingsPorts {
  recordings: RecordingsService;
  jobs: JobsService;
  uploads: UploadsService;
  occurrences: OccurrencesService;
  /** Hooks run with every recording deletion (the upload queue removes the provider copies). */
  recordingDeletions: RecordingDeletions;
}

export function createRecordingsModule(
  core: ModuleCore,
  ports: RecordingsModulePorts,
): AppModule<RecordingsPorts> {
  const { db, provider, audit, config, metrics, now } = core;
  const recordingsRepo = new RecordingsRepository(db, core.raw);
  const jobsRepo = new JobsRepository(db, provider, core.raw);
  const files = new RecordingFileStore(config.dataDir);
  const recordingChanges = new RecordingChanges(core.changes, now); // announced on the change feed
  const deletions = new RecordingDeletions();
  const alerts = countingMisses(ports.healthAlerts ?? NO_HEALTH_ALERTS, metrics);
  // What every service here takes alike; its changes go out on the change feed after they commit.
  const common = { db, audit, now, changes: recordingChanges };
  const recordings = new RecordingsService({
    ...common,
    recordings: recordingsRepo,
    jobs: jobsRepo,
    nodes: ports.nodes,
    files,
    notifyNode: ports.notifyNode,
    channelMaps: ports.channelMaps,
  });
  const jobs = new JobsService({
    ...common,
    raw: core.raw,
    jobs: jobsRepo,
    recordings: recordingsRepo,
    nodes: ports.nodes,
    files,
    config,
    alerts,
  });
  const jobControlDeps = { jobsRepo, recordingsRepo, jobs, recordings, recordingChanges };
  const jobControl = new JobControlService({ ...core, ...ports, ...jobControlDeps });
  const uploads = new UploadsService({
    ...common,
    recordings: recordingsRepo,
    jobs: jobsRepo,
    files,
    metrics,
    config,
    alerts,
  });
  const occurrences = new OccurrencesService({
    ...common,
    repo: new OccurrencesRepository(db, provider),
    jobs: jobsRepo,
    jobsService: jobs,
    recordings: recordingsRepo,
    nodes: ports.nodes,
    config,
    alerts,
  });
  const peaks = new PeaksService(recordings, files, (id) => recordingsRepo.find(id));
  return {
    name: 'recordings',
    routes: [
      recordingsRoutes(recordings),
      ...libraryAndPlaybackRoutes(core, ports, { recordings, files, deletions, peaks }),
      jobsRoutes(jobs, jobControl),
      occurrencesRoutes(occurrences),
      uploadsRoutes(uploads),
      agentCopiesRoutes(new AgentCopiesService(db, recordingsRepo, audit)),
    ],
    components: [contactSweep(jobs, occurrences, core.log), peaksWarmer(peaks, core.changes, core.log)],
    collectors: [
      async () => {
        const counts = await jobs.countByState();
        for (const state of JobStates) metrics.jobs.set({ state }, counts.get(state) ?? 0);
      },
    ],
    ports: { recordings, jobs, uploads, occurrences, recordingDeletions: deletions },
  };
}

/** The alerts, with each missed occurrence counted for Prometheus as it is announced. */
function countingMisses(alerts: HealthAlerts, metrics: Metrics): HealthAlerts {
  return {
    occurrenceMissed: (miss) => {
      metrics.occurrencesMissed.inc();
      return alerts.occurrenceMissed(miss);
    },
    uploadFailed: (failure) => alerts.uploadFailed(failure),
    uploadCompleted: (done) => alerts.uploadCompleted(done),
    providerCopyFailed: (failure) => alerts.providerCopyFailed(failure),
    providerCopyVerified: (done) => alerts.providerCopyVerified(done),
    auditChainVerified: (result) => alerts.auditChainVerified(result),
  };
}

/** The library's organising routes, prepared downloads, and playback sessions with their stream. */
function libraryAndPlaybackRoutes(
  core: ModuleCore,
  ports: RecordingsModulePorts,
  built: {
    recordings: RecordingsService;
    files: RecordingFileStore;
    deletions: RecordingDeletions;
    peaks: PeaksService;
  },
): RoutePlugin[] {
  const { db, audit, now, config, provider } = core;
  const { recordings, files, deletions, peaks } = built;
  const playback = new PlaybackService({
    recordings,
    access: { current: (principal) => ports.auth.current(principal), generation: ports.accessGeneration },
    audit,
    now,
    streamPath: (recordingId) => `/api/v1${playbackStreamPath(recordingId)}`,
  });
  const library = new LibraryService({
    db,
    repo: new LibraryRepository(db, provider),
    recordings,
    audit,
    files,
    deletions,
    log: core.log,
    now,
  });
  return [
    libraryRoutes(library, recordings, new DownloadService({ recordings, files, audit, now })),
    playbackRoutes(playback, config),
    peaksRoutes(peaks),
  ];
}

/**
 * Every CONTACT_SWEEP_MS: held jobs whose lease ran out become `lost_contact`, and scheduled
 * occurrences no node ever took before their window ended become `failed` (missed).
 */
function contactSweep(jobs: JobsService, occurrences: OccurrencesService, log: ModuleCore['log']): Component {
  let sweep: NodeJS.Timeout | undefined;
  return {
    name: 'lost-contact sweep',
    start: async () => {
      sweep = setInterval(() => {
        jobs.markLostContact().catch((error) => log.warn({ err: error }, 'lost-contact sweep failed'));
        occurrences.markMissed().catch((error) => log.warn({ err: error }, 'missed-occurrence sweep failed'));
      }, CONTACT_SWEEP_MS);
      sweep.unref();
    },
    stop: async () => clearInterval(sweep),
  };
}
