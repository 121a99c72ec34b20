/** Reads: overview, leaderboard, per-user and per-channel stats, heatmap, live occupancy. */
import type { ModuleCore } from '../../../platform/module.js';
import type { Discord } from '../discord/index.js';
import type { Guilds } from '../guilds/index.js';
import type { Signing } from '../signing/index.js';
import type { Tracking } from '../tracking/index.js';
import { AttendanceStatsService } from './attendance-stats.service.js';

export function createStats(
  core: ModuleCore,
  parts: { guilds: Guilds; tracking: Tracking; signing: Signing; discord: Discord },
): AttendanceStatsService {
  return new AttendanceStatsService(
    parts.guilds.repo,
    parts.tracking.attendance,
    parts.signing.signing,
    core.now,
    (guildId) => parts.discord.guilds.botView(guildId),
  );
}
