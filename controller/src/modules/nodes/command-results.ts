/**
 * The last command results each agent reported on `cmd-result`, in memory (each replica keeps
 * them all, like presence: the one the agent is connected to `record`s and acts on a result,
 * the others `remember` it from the cluster's relay): enough to see whether a nudge was applied,
 * not a history. The broker validates the payload against the shared schema before it gets here.
 */
import type { CommandResult } from '../../../../shared/src/mqtt.js';
import type { Logger } from '../../core/logger.js';
import type { NodeIdentity } from '../../core/node-directory.js';

/** Results kept per node, newest first. */
export const COMMAND_RESULTS_KEPT = 20;

export interface StoredCommandResult {
  id: string;
  ok: boolean;
  message: string | null;
  receivedAt: string;
}

export class CommandResultLog {
  private readonly byNode = new Map<string, StoredCommandResult[]>();
  private readonly listeners: ((from: NodeIdentity, result: CommandResult) => Promise<void>)[] = [];

  constructor(
    private readonly log: Pick<Logger, 'warn'>,
    private readonly now: () => Date,
  ) {}

  /** Runs `listener` on every result too (lifecycle jobs end on theirs). */
  onResult(listener: (from: NodeIdentity, result: CommandResult) => Promise<void>): void {
    this.listeners.push(listener);
  }

  /** A result this replica received: kept, logged when it failed, and acted on (`onResult`). */
  async record(from: NodeIdentity, result: CommandResult): Promise<void> {
    this.remember(from, result);
    if (!result.ok)
      this.log.warn(
        { nodeId: from.nodeId, commandId: result.id, message: result.message },
        'agent reports a command failed',
      );
    for (const listener of this.listeners) await listener(from, result);
  }

  /** Keeps `result` for `of`, once per command id (a replica hears its own results relayed too). */
  remember(from: NodeIdentity, result: CommandResult): void {
    const kept = this.byNode.get(from.nodeId) ?? [];
    if (kept.some((entry) => entry.id === result.id)) return;
    const entry = {
      id: result.id,
      ok: result.ok,
      message: result.message ?? null,
      receivedAt: this.now().toISOString(),
    };
    this.byNode.set(from.nodeId, [entry, ...kept].slice(0, COMMAND_RESULTS_KEPT));
  }

  /** Newest first. */
  of(nodeId: string): StoredCommandResult[] {
    return this.byNode.get(nodeId) ?? [];
  }

  forget(nodeId: string): void {
    this.byNode.delete(nodeId);
  }
}
