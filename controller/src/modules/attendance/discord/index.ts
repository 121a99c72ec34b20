/**
 * Discord: the bot when a token is configured (voice states into the tracker, slash
 * commands), otherwise a port that answers "no bot" clearly.
 */
import type { ModuleCore } from '../../../platform/module.js';
import type { Members } from '../members/index.js';
import type { Tracking } from '../tracking/index.js';
import { AttendanceBot } from './attendance-bot.js';
import { DiscordGuildService } from './discord.service.js';
import { DISCORD_DISABLED, type DiscordPort } from './discord-port.js';

export interface Discord {
  bot?: AttendanceBot;
  port: DiscordPort;
  guilds: DiscordGuildService;
}

export function createDiscord(core: ModuleCore, tracking: Tracking, members: Members): Discord {
  const { config } = core;
  const bot = config.discordBotToken
    ? new AttendanceBot({
        token: config.discordBotToken,
        restApiBase: config.discordApiBase,
        attendance: tracking.attendance,
        tracker: tracking.tracker,
        members: members.names,
        now: core.now,
        metrics: core.metrics,
        log: core.log,
      })
    : undefined;
  const port: DiscordPort = bot ?? DISCORD_DISABLED;
  return { bot, port, guilds: new DiscordGuildService(port) };
}
