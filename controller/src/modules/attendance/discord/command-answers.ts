/** What the bot answers to members' slash commands: their stats, the leaderboard, a receipt check. */
import { trusted } from '../../../core/visible.js';
import type { GuildsRepository } from '../guilds/guilds.repository.js';
import type { AttendanceVerifyService } from '../signing/verify.service.js';
import type { AttendanceStatsService } from '../stats/attendance-stats.service.js';
import type { AttendanceCommand, CommandReply } from './bot-commands.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min`;
}

export function commandAnswers(deps: {
  repo: GuildsRepository;
  stats: AttendanceStatsService;
  verify: AttendanceVerifyService;
}): (command: AttendanceCommand) => Promise<CommandReply> {
  const handlers: {
    [K in AttendanceCommand['name']]: (c: Extract<AttendanceCommand, { name: K }>) => Promise<string>;
  } = {
    stats: async (c) => {
      const guild = await deps.repo.findGuild(c.guildId);
      if (!guild) return 'Attendance is not tracked in this server yet.';
      // Discord itself tells who is asking in which guild: members read their own guild's stats.
      const s = await deps.stats.userStats(trusted(guild, 'a member asking in their guild'), c.userId);
      return `This period: ${duration(s.active_seconds)} in voice over ${s.sessions} session(s)${s.rank ? `, rank #${s.rank}` : ''}.`;
    },
    leaderboard: async (c) => {
      const guild = await deps.repo.findGuild(c.guildId);
      if (!guild) return 'Attendance is not tracked in this server yet.';
      const board = await deps.stats.leaderboard(trusted(guild, 'a member asking in their guild'), 10);
      if (board.entries.length === 0) return 'Nobody has attended yet this period.';
      return board.entries.map((e) => `#${e.rank} <@${e.user_id}> ${duration(e.active_seconds)}`).join('\n');
    },
    verify: async (c) => {
      const id = c.receipt.trim();
      if (!UUID.test(id)) return 'Give the session id printed on your receipt (a UUID).';
      const result = await deps.verify.session(id);
      return result.valid
        ? 'Valid: this receipt is signed by the server key.'
        : `Not valid: ${result.reason ?? 'unknown session'}.`;
    },
  };
  return async (command) => ({
    content: await (handlers[command.name] as (c: AttendanceCommand) => Promise<string>)(command),
    ephemeral: true,
  });
}
