/**
 * The upload queue: copies of verified recordings to upload providers (the settings module's
 * upload providers and policies), made by a runner through the storage module's port, and the
 * routes that show and steer them. See upload-runner.ts for how a copy goes.
 */
import type { HealthAlerts } from '../../core/health-alerts.js';
import type { AppModule, ModuleCore } from '../../platform/module.js';
import type { RecordingDeletions, RecordingsService } from '../recordings/index.js';
import { type SettingsService, uploadProviderStoreConfig } from '../settings/index.js';
import { objectStoreFor } from '../storage/index.js';
import { UploadQueueRepository } from './upload-queue.repository.js';
import { uploadQueueRoutes } from './upload-queue.routes.js';
import { UploadQueueService } from './upload-queue.service.js';
import { type ProviderStores, UploadRunner } from './upload-runner.js';

export type { UploadQueueRepository, UploadQueueService, UploadRunner };

/** Each request to a provider is bounded by this. */
const PROVIDER_TIMEOUT_MS = 60_000;

/** The providers and policies as the settings module keeps them. */
function providerStores(settings: SettingsService): ProviderStores {
  return {
    async open(providerId) {
      const provider = await settings.opened('upload-providers', providerId);
      if (!provider) return undefined;
      const config = uploadProviderStoreConfig(
        provider.body as Parameters<typeof uploadProviderStoreConfig>[0],
      );
      return { name: provider.name, store: objectStoreFor(config, { timeoutMs: PROVIDER_TIMEOUT_MS }) };
    },
    async onCompletePolicies() {
      const policies = await settings.all('upload-policies');
      return policies
        .map((p) => ({
          id: p.id,
          body: p.body as { provider: string; trigger: string; maxAttempts: number },
        }))
        .filter((p) => p.body.trigger === 'on-complete')
        .map((p) => ({ id: p.id, providerId: p.body.provider, maxAttempts: p.body.maxAttempts }));
    },
  };
}

export function createUploadQueueModule(
  core: ModuleCore,
  ports: {
    recordings: RecordingsService;
    recordingDeletions: RecordingDeletions;
    settings: SettingsService;
    healthAlerts: HealthAlerts;
  },
): AppModule<{ uploadQueue: UploadQueueService; uploadRunner: UploadRunner }> {
  const { db, audit, metrics, log, now, config } = core;
  const repo = new UploadQueueRepository(db);
  const runner = new UploadRunner({
    db,
    repo,
    providers: providerStores(ports.settings),
    fileOf: async (recordingId) => {
      const path = await repo.filePathOf(recordingId);
      return path ? ports.recordings.absolutePath(path) : null;
    },
    audit,
    alerts: ports.healthAlerts,
    metrics,
    log,
    ops: core.ops,
    now,
    copyLeaseMs: config.uploadCopyLeaseSeconds * 1000,
    soleController: core.provider === 'sqlite',
  });
  // A deleted recording's copies go with it: read in its transaction, removed after the commit.
  ports.recordingDeletions.register(async (tx, recordingId) => {
    const copies = await repo.copiesOf(tx, recordingId);
    return () => runner.removeCopies(copies);
  });
  const queue = new UploadQueueService({
    db,
    repo,
    recordings: ports.recordings,
    providerExists: async (id) => (await ports.settings.current('upload-providers', id)) !== undefined,
    runner,
    audit,
    now,
  });
  const collect = async () => {
    const names = new Map((await ports.settings.all('upload-providers')).map((p) => [p.id, p.name]));
    metrics.providerQueue.reset();
    for (const g of await repo.countByProviderAndState())
      metrics.providerQueue.set(
        { provider: names.get(g.providerId) ?? g.providerId, state: g.state },
        g.count,
      );
  };
  return {
    name: 'upload-queue',
    routes: [uploadQueueRoutes(queue)],
    collectors: [collect],
    components: [{ name: 'upload runner', start: () => runner.start(), stop: () => runner.stop() }],
    ports: { uploadQueue: queue, uploadRunner: runner },
  };
}
