/**
 * Schedules: recurring recording plans whose occurrences are materialised as recording jobs
 * ahead of time (recordings module), kept topped up by a runner on every controller.
 */

import type { NodeNotifier } from '../../core/node-commands.js';
import { RunnerFailures } from '../../core/ops-log.js';
import type { AppModule, ModuleCore } from '../../platform/module.js';
import type { NodesService } from '../nodes/index.js';
import type { OccurrencesService } from '../recordings/index.js';
import { ProfileRolls } from './profile-rolls.js';
import { SchedulesRepository } from './schedules.repository.js';
import { schedulesRoutes } from './schedules.routes.js';
import { SchedulesService } from './schedules.service.js';

export type { SchedulesService };

/** How often the runner tops up occurrences, and how many schedules one pass handles. */
const RUNNER_INTERVAL_MS = 60_000;
const RUNNER_BATCH = 500;

export function createSchedulesModule(
  core: ModuleCore,
  ports: { nodes: NodesService; occurrences: OccurrencesService; notifyNode: NodeNotifier },
): AppModule<{ schedules: SchedulesService }> {
  const { db, provider, audit, now, log } = core;
  const repo = new SchedulesRepository(db);
  // A node's recording profile, resolved as its agent gets it (the nodes module's settings port).
  const rolls = new ProfileRolls(repo, async (profileId) => {
    const { recordingProfile } = await ports.nodes.settings.forAgent({
      recordingProfileId: profileId,
      watchdogPolicyId: null,
    });
    return recordingProfile ?? undefined;
  });
  const schedules = new SchedulesService({
    db,
    provider,
    repo,
    rolls,
    occurrences: ports.occurrences,
    nodes: ports.nodes,
    audit,
    notifyNode: ports.notifyNode,
    now,
  });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  const failures = new RunnerFailures(core.ops, 'schedule runner');
  const pass = () => {
    // Tops up due schedules, then re-plans those whose nodes' profile rolls changed.
    running ??= schedules
      .materialiseDue(RUNNER_BATCH)
      .then(() => schedules.replanChangedProfiles())
      .then(() => failures.succeeded())
      .catch((error) => {
        log.warn({ err: error }, 'materialising schedule occurrences failed');
        failures.failed(error);
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  return {
    name: 'schedules',
    routes: [schedulesRoutes(schedules)],
    components: [
      {
        name: 'schedule runner',
        start: async () => {
          void pass(); // at once: a restart after days away tops up before agents sync
          timer = setInterval(pass, RUNNER_INTERVAL_MS);
          timer.unref();
        },
        stop: async () => {
          clearInterval(timer);
          await running;
        },
      },
    ],
    ports: { schedules },
  };
}
