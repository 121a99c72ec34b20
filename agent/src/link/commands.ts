/**
 * Controller → agent commands (MQTT `cmd`): a lookup table from command type to
 * handler, and a dispatcher that always answers with a result echoing the command id.
 * Lifecycle actions (shared/src/lifecycle.ts) have a table of their own: only what is on the
 * allowlist runs, whatever a forged command asks.
 */
import { isLifecycleAction, LIFECYCLE_ACTIONS, type LifecycleAction } from '../../../shared/src/lifecycle.js';
import type { Command, CommandResult, CommandTypes } from '../../../shared/src/mqtt.js';

export type CommandType = (typeof CommandTypes)[number];

/**
 * Resolves with an optional message on success (and, for what must wait until the answer is
 * sent, such as a restart, `afterAnswer`); throws (or rejects) to report failure.
 */
export type CommandOutcome = string | undefined | { message: string; afterAnswer: () => void };
export type CommandHandler = (
  args: Record<string, unknown>,
  command: Command,
) => Promise<CommandOutcome> | CommandOutcome;

/** One lifecycle action; `jobId` is the lifecycle job (the command id). */
export type LifecycleHandler = (jobId: string) => Promise<CommandOutcome> | CommandOutcome;
/** Lifecycle jobs remembered, so a re-delivered or re-sent command does not run twice. */
const LIFECYCLE_IDS_KEPT = 100;

export type CommandTable = Partial<Record<CommandType, CommandHandler>>;

export interface CommandTargets {
  /** job-available: claim now instead of at the next poll. */
  wakeClaimLoop(): void;
  /** job-stop: end the current recording (optionally only if it is `jobId`); false when nothing matched. */
  stopRecording(jobId: string | undefined): boolean;
  /** config-changed: fetch the node config again and apply it. */
  refetchConfig(): Promise<void>;
  /** schedule-changed: sync the node's scheduled occurrences now. */
  syncSchedule(): Promise<void>;
  /** lifecycle: the allowlisted actions this agent runs. */
  lifecycle?: Record<LifecycleAction, LifecycleHandler>;
  /** listen-start / listen-stop: live listen streams (listen/listen-streams.ts). */
  listen?: {
    listenStart(args: Record<string, unknown>): string;
    listenStop(args: Record<string, unknown>): string;
  };
}

export function agentCommandTable(targets: CommandTargets): CommandTable {
  return {
    'job-available': () => {
      targets.wakeClaimLoop();
      return 'claiming';
    },
    'job-stop': (args) => {
      const jobId = typeof args.jobId === 'string' ? args.jobId : undefined;
      if (!targets.stopRecording(jobId)) {
        throw new Error(jobId ? `job ${jobId} is not recording on this node` : 'nothing is recording');
      }
      return 'recording stopped';
    },
    'config-changed': async () => {
      await targets.refetchConfig();
      return 'config reloaded';
    },
    'schedule-changed': async () => {
      await targets.syncSchedule();
      return 'schedule synced';
    },
    ...(targets.lifecycle ? { lifecycle: lifecycleHandler(targets.lifecycle) } : {}),
    ...(targets.listen
      ? {
          'listen-start': (args: Record<string, unknown>) => targets.listen!.listenStart(args),
          'listen-stop': (args: Record<string, unknown>) => targets.listen!.listenStop(args),
        }
      : {}),
  };
}

function lifecycleHandler(actions: Record<LifecycleAction, LifecycleHandler>): CommandHandler {
  /** Jobs run (or running) in this run, by id: their outcome, so a re-sent command gets the same answer. */
  const runs = new Map<string, Promise<CommandOutcome>>();
  return async (args, command) => {
    const action = args.action;
    if (!isLifecycleAction(action))
      throw new Error(
        `${JSON.stringify(action)?.slice(0, 64)} is not on this agent's lifecycle allowlist (${LIFECYCLE_ACTIONS.join(', ')})`,
      );
    const earlier = runs.get(command.id);
    if (earlier) {
      // The controller sent it again (it heard no answer): the same answer, without running it twice.
      const outcome = await earlier;
      return typeof outcome === 'object' ? outcome.message : outcome;
    }
    const run = Promise.resolve().then(() => actions[action](command.id));
    runs.set(command.id, run);
    if (runs.size > LIFECYCLE_IDS_KEPT) runs.delete(runs.keys().next().value!);
    return run;
  };
}

/** Runs the handler for `command.type`; never throws. `afterAnswer`: run it once the result is sent. */
export async function runCommand(
  table: CommandTable,
  command: Command,
): Promise<{ result: CommandResult; afterAnswer?: () => void }> {
  const handler = table[command.type];
  if (!handler)
    return {
      result: { id: command.id, ok: false, message: `${command.type} is not supported by this agent` },
    };
  try {
    const outcome = await handler(command.args ?? {}, command);
    if (typeof outcome === 'object')
      return {
        result: { id: command.id, ok: true, message: outcome.message },
        afterAnswer: outcome.afterAnswer,
      };
    return {
      result:
        outcome === undefined ? { id: command.id, ok: true } : { id: command.id, ok: true, message: outcome },
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { result: { id: command.id, ok: false, message: message.slice(0, 1000) } };
  }
}

/** runCommand's result alone. */
export async function dispatchCommand(table: CommandTable, command: Command): Promise<CommandResult> {
  return (await runCommand(table, command)).result;
}
