/**
 * Controller → agent commands (MQTT `cmd`): a lookup table from command type to
 * handler, and a dispatcher that always answers with a result echoing the command id.
 */
import type { Command, CommandResult, CommandTypes } from '../../../shared/src/mqtt.js';

export type CommandType = (typeof CommandTypes)[number];

/** Resolves with an optional message on success; throws (or rejects) to report failure. */
export type CommandHandler = (
  args: Record<string, unknown>,
) => Promise<string | undefined> | string | undefined;

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
  };
}

/** Runs the handler for `command.type`; never throws. */
export async function dispatchCommand(table: CommandTable, command: Command): Promise<CommandResult> {
  const handler = table[command.type];
  if (!handler)
    return { id: command.id, ok: false, message: `${command.type} is not supported by this agent` };
  try {
    const message = await handler(command.args ?? {});
    return message === undefined ? { id: command.id, ok: true } : { id: command.id, ok: true, message };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { id: command.id, ok: false, message: message.slice(0, 1000) };
  }
}
