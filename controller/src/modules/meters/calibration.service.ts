/**
 * Watchdog calibration: listens to one node's live meter frames for a window and answers the
 * policy body the frames suggest (calibration.ts) with the statistics it used. It changes
 * nothing (the operator PATCHes the policy); each run is audited once, as an action.
 */
import type { MeterFrame } from '../../../../shared/src/mqtt.js';
import type { AuditWriter } from '../../core/audit.types.js';
import { conflict, forbidden, notFound } from '../../core/errors.js';
import type { NodeDirectory } from '../../core/node-directory.js';
import { actorOf, type CallContext, type UserPrincipal } from '../../core/principal.js';
import { visibleTo } from '../../core/visible.js';
import { type CalibratedFields, calibrationStats, proposeThresholds } from './calibration.js';
import type { MeterStore } from './meters.store.js';

/** A watchdog policy as the settings module hands it out. */
export interface WatchdogPolicy {
  id: string;
  name: string;
  revision: number;
  body: Record<string, unknown>;
}

export const DEFAULT_CALIBRATION_SECONDS = 30;

export class CalibrationService {
  constructor(
    private readonly deps: {
      store: MeterStore;
      directory: Pick<NodeDirectory, 'scopeOf'>;
      /** The current watchdog policy with this id; undefined when there is none. */
      policy: (id: string) => Promise<WatchdogPolicy | undefined>;
      audit: Pick<AuditWriter, 'recordAlone'>;
    },
  ) {}

  async calibrate(policyId: string, input: { nodeId: string; windowSeconds?: number }, ctx: CallContext) {
    const user = userOf(ctx);
    const policy = await this.deps.policy(policyId);
    if (!policy) throw notFound('watchdog policy');
    await this.visibleNode(user, input.nodeId);
    const windowSeconds = input.windowSeconds ?? DEFAULT_CALIBRATION_SECONDS;
    const frames = await this.collect(input.nodeId, windowSeconds * 1000);
    const audited = { nodeId: input.nodeId, windowSeconds, frames: frames.length };
    if (frames.length === 0) {
      const message =
        `No meter frames arrived from node ${input.nodeId} in ${windowSeconds} s: ` +
        'is its agent online and capturing?';
      await this.record(ctx, policy, 'failure', audited, message);
      throw conflict(message);
    }
    const statistics = calibrationStats(frames);
    const { proposed, notes } = proposeThresholds(statistics, policy.body as unknown as CalibratedFields);
    const result = {
      policy: { id: policy.id, name: policy.name, revision: policy.revision },
      nodeId: input.nodeId,
      windowSeconds,
      current: policy.body,
      proposed: { ...policy.body, ...proposed },
      statistics,
      notes,
    };
    await this.record(ctx, policy, 'success', { ...audited, statistics, proposed });
    return result;
  }

  /** The node's frames from now until the window ends (or the controller stops). */
  private async collect(nodeId: string, windowMs: number): Promise<MeterFrame[]> {
    // Room for every frame at 1 ms windows: nothing is dropped while this drains.
    const subscription = this.deps.store.subscribe((r) => r.nodeId === nodeId, windowMs + 100);
    const timer = setTimeout(() => subscription.close(), windowMs);
    const frames: MeterFrame[] = [];
    try {
      for await (const reading of subscription) frames.push(reading.frame);
    } finally {
      clearTimeout(timer);
      subscription.close();
    }
    return frames;
  }

  private async visibleNode(user: UserPrincipal, nodeId: string): Promise<void> {
    const scope = await this.deps.directory.scopeOf(nodeId);
    if (!scope) throw notFound('node');
    visibleTo(user, 'node:read', scope, scope, { name: 'node', target: { type: 'node', id: nodeId } });
  }

  private async record(
    ctx: CallContext,
    policy: WatchdogPolicy,
    outcome: 'success' | 'failure',
    after: Record<string, unknown>,
    reason?: string,
  ): Promise<void> {
    await this.deps.audit.recordAlone({
      actor: actorOf(ctx.principal),
      permission: 'settings:manage',
      action: 'settings.watchdog_policy.calibrate',
      target: { type: 'settings_object', id: policy.id },
      outcome,
      reason: reason ?? null,
      after: { policy: policy.name, ...after },
      context: ctx.request,
    });
  }
}

function userOf(ctx: CallContext): UserPrincipal {
  if (ctx.principal.kind !== 'user') throw forbidden('Calibration is for users.');
  return ctx.principal;
}
