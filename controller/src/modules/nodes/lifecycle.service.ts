/**
 * Node lifecycle actions (shared/src/lifecycle.ts): an operator asks, a lifecycle job records
 * it (queued), the agent gets it on its `cmd` topic when it is connected or as soon as it comes
 * back before the action expires (sent), and its `cmd-result` ends it (succeeded or failed);
 * the sweeper times out what was not sent before its expiry or not answered in time. Every
 * request and every end is audited with the change. Also here, because only lifecycle jobs use
 * them: the credential an agent is issued by rotate-credential (adopted on its first use), and
 * the diagnostics collect-diagnostics uploads.
 */

import { randomUUID } from 'node:crypto';
import { formatNodeCredential } from '../../../../shared/src/agent-api.js';
import {
  type Diagnostics,
  isLifecycleAction,
  LIFECYCLE_ACTIONS,
  LIFECYCLE_ANSWER_SECONDS,
  LIFECYCLE_EXPIRY_SECONDS,
  type LifecycleAction,
  type LifecycleJobState,
} from '../../../../shared/src/lifecycle.js';
import type { CommandResult } from '../../../../shared/src/mqtt.js';
import { type Actor, type AuditWriter, SYSTEM_ACTOR } from '../../core/audit.types.js';
import { badRequest, conflict, notFound } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { NodeNotifier } from '../../core/node-commands.js';
import type { NodeIdentity } from '../../core/node-directory.js';
import type { OpsLog } from '../../core/ops-log.js';
import { decodeCursor } from '../../core/pagination.js';
import { actorOf, type CallContext, type Principal } from '../../core/principal.js';
import { hashSecret, newSecret, safeEqualHex, secretHint } from '../../crypto/secrets.js';
import type { Db } from '../../db/client.js';
import { PeriodicTask } from '../../platform/periodic-task.js';
import type {
  LifecycleJobRow,
  LifecycleJobSummary,
  LifecycleRepository,
  ListedLifecycleJob,
} from './lifecycle.repository.js';
import type { NodesService } from './nodes.service.js';

/** Lifecycle job ids (and so their command ids) start with this: other command results skip the database. */
export const LIFECYCLE_JOB_PREFIX = 'lc-';
/** How often overdue jobs are timed out. */
export const SWEEP_INTERVAL_MS = 10_000;
/** A sent job unanswered this long is sent again at the next sweep (the agent answers a re-send the same). */
export const RESEND_AFTER_MS = 5_000;

export interface LifecycleJobView {
  id: string;
  nodeId: string;
  action: string;
  state: LifecycleJobState;
  requestedBy: string;
  message: string | null;
  createdAt: string;
  sentAt: string | null;
  finishedAt: string | null;
  expiresAt: string;
  hasDiagnostics: boolean;
}

/** A full row (diagnostics read) as a summary. */
function summary({ diagnostics, ...job }: LifecycleJobRow): LifecycleJobSummary {
  return { ...job, hasDiagnostics: diagnostics !== null };
}

function present(job: LifecycleJobSummary): LifecycleJobView {
  return {
    id: job.id,
    nodeId: job.nodeId,
    action: job.action,
    state: job.state as LifecycleJobState,
    requestedBy: job.requestedBy,
    message: job.message,
    createdAt: job.createdAt.toISOString(),
    sentAt: job.sentAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
    expiresAt: job.expiresAt.toISOString(),
    hasDiagnostics: job.hasDiagnostics,
  };
}

export class LifecycleService {
  private readonly sweeper: PeriodicTask;

  constructor(
    private readonly deps: {
      db: Db;
      repo: LifecycleRepository;
      nodes: NodesService;
      audit: AuditWriter;
      notify: NodeNotifier;
      log: Pick<Logger, 'warn' | 'error'>;
      now: () => Date;
      /** Where a failing sweep is reported for operators. */
      ops?: OpsLog;
    },
  ) {
    this.sweeper = new PeriodicTask({
      what: 'timing out lifecycle jobs',
      pass: async () => {
        await this.timeOutOverdue();
        await this.sendUnansweredAgain();
      },
      log: deps.log,
      ops: deps.ops,
      intervalMs: SWEEP_INTERVAL_MS,
      passAtStart: false,
    });
  }

  /** Records the request and sends it at once when the agent is connected. */
  async request(nodeId: string, action: string, ctx: CallContext): Promise<LifecycleJobView> {
    const { db, repo, nodes, audit, now } = this.deps;
    const node = await nodes.visibleNode(ctx.principal, 'node:manage', nodeId);
    if (!isLifecycleAction(action))
      throw badRequest(
        `"${action.slice(0, 64)}" is not a lifecycle action: use one of ${LIFECYCLE_ACTIONS.join(', ')}.`,
        { field: 'action', allowed: LIFECYCLE_ACTIONS },
      );
    if (node.decommissionedAt) throw conflict('The node is decommissioned: its agent takes no more actions.');
    if (!node.credentialHash) throw conflict('The node has not enrolled yet: there is no agent to ask.');
    const at = now();
    const job = await db.$transaction(async (tx) => {
      const row = await repo.create(tx, {
        id: `${LIFECYCLE_JOB_PREFIX}${randomUUID()}`,
        nodeId,
        action,
        requestedBy: actorOf(ctx.principal).name ?? 'unknown',
        createdAt: at,
        expiresAt: new Date(at.getTime() + LIFECYCLE_EXPIRY_SECONDS[action] * 1000),
      });
      await audit.recordChange(tx, ctx, {
        permission: 'node:manage',
        action: 'node.lifecycle_request',
        target: { type: 'node', id: nodeId },
        after: { jobId: row.id, action, expiresAt: row.expiresAt.toISOString() },
      });
      return row;
    });
    if (nodes.connected(nodeId)) await this.send(job);
    const stored = await repo.find(nodeId, job.id);
    return present(stored ? summary(stored) : { ...job, hasDiagnostics: false });
  }

  /** Newest first; `cursor`: the previous page's nextCursor (checked after the node is). */
  async list(nodeId: string, principal: Principal, limit: number, cursor?: string) {
    await this.deps.nodes.visibleNode(principal, 'node:read', nodeId);
    const after = decodeCursor<string>(cursor, 'string');
    return (await this.deps.repo.list(nodeId, limit, after)).map(present);
  }

  async get(nodeId: string, jobId: string, principal: Principal): Promise<LifecycleJobView> {
    await this.deps.nodes.visibleNode(principal, 'node:read', nodeId);
    const job = await this.deps.repo.find(nodeId, jobId);
    if (!job) throw notFound('lifecycle job');
    return present(summary(job));
  }

  /** The diagnostics a collect-diagnostics job brought back (they hold the node's config and logs). */
  async diagnostics(nodeId: string, jobId: string, principal: Principal): Promise<Diagnostics> {
    await this.deps.nodes.visibleNode(principal, 'node:manage', nodeId);
    const job = await this.deps.repo.find(nodeId, jobId);
    if (!job) throw notFound('lifecycle job');
    if (!job.diagnostics) throw notFound('diagnostics of this job (none uploaded)');
    return JSON.parse(job.diagnostics) as Diagnostics;
  }

  /** The agent's `cmd-result`: ends the job it answers (results of other commands are not jobs). */
  async onResult(from: NodeIdentity, result: CommandResult): Promise<void> {
    if (!result.id.startsWith(LIFECYCLE_JOB_PREFIX)) return;
    const state = result.ok ? 'succeeded' : 'failed';
    const message = result.message ?? (result.ok ? 'done' : 'failed');
    await this.end(
      { id: result.id, nodeId: from.nodeId },
      ['queued', 'sent'],
      { state, message },
      {
        actor: { type: 'node', id: from.nodeId, name: from.nodeId },
        scope: { siteId: from.siteId, nodeId: from.nodeId },
      },
    );
  }

  /**
   * The node's agent connected: send what waited for it and is still worth doing, and again
   * what was sent but not answered (it may have gone to a connection that was ending: a command
   * is not kept for an agent that is not subscribed). The agent runs a job id once per run and
   * answers a re-send with that run's outcome.
   */
  async onConnected(nodeId: string): Promise<void> {
    const { repo } = this.deps;
    const now = this.deps.now();
    for (const job of await repo.unanswered(nodeId, now)) await this.command(job);
    for (const job of await repo.deliverable(nodeId, now)) await this.send(job);
  }

  /** Times out jobs not sent before their expiry and jobs sent but unanswered for too long. */
  sweep(): Promise<void> {
    return this.sweeper.tick();
  }

  start(): void {
    this.sweeper.start();
  }

  stop(): Promise<void> {
    return this.sweeper.stop();
  }

  // The agent's side of rotate-credential and collect-diagnostics --------------------------------

  /**
   * A new credential for the node's agent, when a rotate-credential job of it is under way. It
   * is pending: the old one keeps working until the agent first authenticates with the new one.
   */
  async issueCredential(nodeId: string, jobId: string, ctx: CallContext): Promise<{ credential: string }> {
    const { db, repo, nodes, audit } = this.deps;
    const node = await nodes.visibleNode(ctx.principal, 'node:control', nodeId);
    const job = await repo.find(nodeId, jobId);
    if (job?.action !== 'rotate-credential' || !['queued', 'sent'].includes(job.state))
      throw conflict(
        `No rotate-credential job "${jobId}" of this node is under way: only an operator can start one.`,
      );
    const secret = newSecret();
    await db.$transaction(async (tx) => {
      if (!(await repo.issuePending(tx, nodeId, hashSecret(secret))))
        throw conflict('The node is decommissioned or not enrolled: it has no credential to replace.');
      await audit.recordChange(tx, ctx, {
        permission: 'node:control',
        action: 'node.credential_issue',
        target: { type: 'node', id: nodeId },
        before: { credentialHint: node.credentialHint },
        after: { pendingCredentialHint: secretHint(secret), jobId },
      });
    });
    return { credential: formatNodeCredential(nodeId, secret) };
  }

  /**
   * Called when a node credential does not match the active one: if it is the node's pending
   * credential, it becomes the active one (the old one stops working). 'raced': another request
   * adopted it meanwhile (check the active credential again).
   */
  async adoptCredential(nodeId: string, secret: string): Promise<'adopted' | 'not-pending' | 'raced'> {
    const { db, repo, audit } = this.deps;
    const hash = hashSecret(secret);
    const pending = await repo.pendingOf(nodeId);
    if (!pending?.pendingCredentialHash || !safeEqualHex(pending.pendingCredentialHash, hash)) {
      // Adopted since the caller read the active credential (the agent's broker connection and
      // its HTTP request use a new credential at the same moment): it is the active one now.
      const adoptedMeanwhile = pending?.credentialHash && safeEqualHex(pending.credentialHash, hash);
      return adoptedMeanwhile ? 'raced' : 'not-pending';
    }
    return db.$transaction(async (tx) => {
      if (!(await repo.adoptPending(tx, nodeId, hash, secretHint(secret)))) return 'raced';
      await audit.record(tx, {
        actor: { type: 'node', id: nodeId, name: nodeId },
        permission: 'node:control',
        action: 'node.credential_adopt',
        target: { type: 'node', id: nodeId },
        outcome: 'success',
        after: { credentialHint: secretHint(secret) },
        scope: { siteId: pending.siteId, nodeId },
      });
      return 'adopted';
    });
  }

  async storeDiagnostics(
    nodeId: string,
    jobId: string,
    diagnostics: Diagnostics,
    ctx: CallContext,
  ): Promise<void> {
    const { db, repo, nodes, audit } = this.deps;
    await nodes.visibleNode(ctx.principal, 'node:control', nodeId);
    const json = JSON.stringify(diagnostics);
    await db.$transaction(async (tx) => {
      if (!(await repo.storeDiagnostics(tx, nodeId, jobId, json)))
        throw conflict(`No collect-diagnostics job "${jobId}" of this node is waiting for diagnostics.`);
      await audit.recordChange(tx, ctx, {
        permission: 'node:control',
        action: 'node.diagnostics_upload',
        target: { type: 'node', id: nodeId },
        after: { jobId, bytes: Buffer.byteLength(json) },
      });
    });
  }

  // -----------------------------------------------------------------------------------------------

  /** The job's command on the agent's `cmd` topic (its id is the job's: the agent's answer echoes it). */
  private command(job: Pick<ListedLifecycleJob, 'id' | 'nodeId' | 'action'>): Promise<void> {
    return this.deps.notify(job.nodeId, 'lifecycle', { action: job.action as LifecycleAction }, job.id);
  }

  private async send(job: Pick<ListedLifecycleJob, 'id' | 'nodeId' | 'action'>): Promise<void> {
    if (!(await this.deps.repo.markSent(job.id, this.deps.now()))) return;
    await this.command(job);
  }

  /**
   * A command can be lost between an agent's connections (QoS 1 is kept only for a subscribed
   * session): what is still unanswered after RESEND_AFTER_MS goes again to a connected agent,
   * which runs a job id once and answers a re-send with the first run's outcome.
   */
  private async sendUnansweredAgain(): Promise<void> {
    const { repo, nodes } = this.deps;
    const sentBefore = new Date(this.deps.now().getTime() - RESEND_AFTER_MS);
    for (const job of await repo.unansweredSince(sentBefore))
      if (nodes.connected(job.nodeId)) await this.command(job);
  }

  private async timeOutOverdue(): Promise<void> {
    const now = this.deps.now();
    const sentBefore = new Date(now.getTime() - LIFECYCLE_ANSWER_SECONDS * 1000);
    for (const job of await this.deps.repo.overdue(now, sentBefore)) {
      const message =
        job.state === 'queued'
          ? `not sent: the agent stayed offline until the action expired (${job.expiresAt.toISOString()})`
          : `the agent did not answer within ${LIFECYCLE_ANSWER_SECONDS} s`;
      await this.end(
        { id: job.id },
        [job.state],
        { state: 'timed_out', message },
        {
          actor: SYSTEM_ACTOR,
          scope: { nodeId: job.nodeId },
        },
      );
    }
  }

  private async end(
    where: { id: string; nodeId?: string },
    from: readonly string[],
    end: { state: 'succeeded' | 'failed' | 'timed_out'; message: string },
    by: { actor: Actor; scope: { siteId?: string; nodeId: string } },
  ): Promise<void> {
    const { db, repo, audit, now } = this.deps;
    await db.$transaction(async (tx) => {
      if (!(await repo.finish(tx, where, from, { ...end, at: now() }))) return;
      await audit.record(tx, {
        actor: by.actor,
        action: 'node.lifecycle_result',
        target: { type: 'node', id: by.scope.nodeId },
        outcome: 'success',
        after: { jobId: where.id, state: end.state, message: end.message },
        scope: by.scope,
      });
    });
  }
}
