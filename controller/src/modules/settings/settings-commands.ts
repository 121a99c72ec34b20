/**
 * Family commands (a family's `commands`): actions on one settings object that change nothing,
 * such as testing an upload provider's connection. A command runs on the current object with its
 * secrets opened, and each call is audited once: outcome success, or failure with the reason
 * when the command answers `ok: false` (the answer is still a 200: the command did run).
 */
import type { AuditInput, AuditWriter } from '../../core/audit.types.js';
import { AppError, conflict } from '../../core/errors.js';
import { actorOf, type CallContext } from '../../core/principal.js';
import { SecretBoxError } from '../../crypto/secret-box.js';
import type { SettingsRow } from './settings.repository.js';
import type { SettingsCommand, SettingsCommandResult, SettingsFamily } from './settings-family.js';
import type { SettingsSecrets } from './settings-secrets.js';

export class SettingsCommands {
  constructor(
    private readonly options: {
      find: (family: SettingsFamily, id: string) => Promise<SettingsRow>;
      secrets: SettingsSecrets;
      audit: AuditWriter;
    },
  ) {}

  async run(
    family: SettingsFamily,
    command: SettingsCommand,
    id: string,
    ctx: CallContext,
  ): Promise<SettingsCommandResult> {
    const base: AuditInput = {
      actor: actorOf(ctx.principal),
      permission: 'settings:manage',
      action: command.action,
      target: { type: 'settings_object', id },
      outcome: 'success',
      context: ctx.request,
    };
    const { audit, find, secrets } = this.options;
    try {
      const row = await find(family, id);
      const stored = JSON.parse(row.body) as Record<string, unknown>;
      const body = await secrets.open(family, row.id, stored).catch((error: unknown) => {
        if (!(error instanceof SecretBoxError)) throw error;
        throw conflict(
          `The ${family.title}'s stored secret cannot be opened: ${error.message}. Set it again.`,
        );
      });
      const result = await command.run({ id: row.id, name: row.name, body });
      const reason = result.ok ? null : (command.failure?.(result) ?? `${command.name} failed`);
      await audit.recordAlone({
        ...base,
        outcome: result.ok ? 'success' : 'failure',
        reason,
        after: { family: family.name, name: row.name, result },
      });
      return result;
    } catch (error) {
      if (error instanceof AppError)
        await audit.recordAlone({ ...base, outcome: 'failure', reason: error.message });
      throw error;
    }
  }
}
