/**
 * Object checks for guild-owned attendance data: a guild outside the
 * caller's scope is a 404; a guild the caller may read but not manage is a 403.
 * A front-end token's Discord user sees only the token's guild (the access hook has
 * already checked Manage Server there).
 */
import type { Permission } from '../../../../../shared/src/permissions.js';
import { forbidden, hidden, notFound } from '../../../core/errors.js';
import { discordPrincipalAllows, type Principal } from '../../../core/principal.js';
import type { AttendanceRepository, GuildRow } from './attendance.repository.js';

export class GuildAccess {
  constructor(private readonly repo: AttendanceRepository) {}

  async visibleGuild(principal: Principal, permission: Permission, guildId: string): Promise<GuildRow> {
    const guild = await this.repo.findGuild(guildId);
    if (!guild) throw notFound('guild');
    const outOfScope = () => hidden('guild', { type: 'guild', id: guildId }, permission);
    if (principal.kind === 'discord') {
      if (discordPrincipalAllows(principal, permission, guildId)) return guild;
      throw outOfScope();
    }
    if (principal.kind !== 'user') throw outOfScope();
    if (principal.access.allows(permission, { guildId })) return guild;
    if (permission !== 'attendance:read' && principal.access.allows('attendance:read', { guildId }))
      throw forbidden(`You need the ${permission} permission on this guild.`, {
        permission,
        target: { type: 'guild', id: guildId },
      });
    throw outOfScope();
  }
}
