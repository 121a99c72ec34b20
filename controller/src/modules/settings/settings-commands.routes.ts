/**
 * The routes of family commands (`POST /api/v1/settings/<family>/:id/<command>`): settings:manage
 * over the fleet, like every change to settings (a command may reach out with stored secrets).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Data, ErrorResponse } from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import { SettingsParams } from './settings.schemas.js';
import type { SettingsCommands } from './settings-commands.js';
import type { SettingsFamily } from './settings-family.js';

export function settingsCommandRoutes(
  families: readonly SettingsFamily[],
  commands: SettingsCommands,
): FastifyPluginAsyncTypebox {
  return async (app) => {
    for (const family of families) {
      for (const command of family.commands ?? []) {
        app.post(
          `/settings/${family.name}/:id/${command.name}`,
          {
            config: { access: { user: 'settings:manage', scope: 'fleet' } },
            schema: {
              tags: ['settings'],
              summary: command.summary,
              params: SettingsParams,
              response: { 200: Data(command.result), 404: ErrorResponse, 409: ErrorResponse },
            },
          },
          async (request) => {
            const result = await commands.run(family, command, request.params.id, callContext(request));
            return { data: { ...result } };
          },
        );
      }
    }
  };
}
