/**
 * Object checks for guild-owned attendance data: a guild outside the
 * caller's scope is a 404; a guild the caller may read but not manage is a 403.
 * A front-end token's Discord user sees only the token's guild (the access hook has
 * already checked Manage Server there).
 */
import type { Permission } from '../../../../../shared/src/permissions.js';
import { forbidden, notFound } from '../../../core/errors.js';
import type { Principal } from '../../../core/principal.js';
import { type Visible, visibleTo } from '../../../core/visible.js';
import type { GuildRow, GuildsRepository } from './guilds.repository.js';

/** A guild its caller was checked to see: what attendance services act on. */
export type VisibleGuild = Visible<GuildRow>;

export class GuildAccess {
  constructor(private readonly repo: GuildsRepository) {}

  async visibleGuild(principal: Principal, permission: Permission, guildId: string): Promise<VisibleGuild> {
    const guild = await this.repo.findGuild(guildId);
    if (!guild) throw notFound('guild');
    // A guild its caller may read but not manage is a 403: it is not hidden from them.
    if (
      principal.kind === 'user' &&
      permission !== 'attendance:read' &&
      !principal.access.allows(permission, { guildId }) &&
      principal.access.allows('attendance:read', { guildId })
    )
      throw forbidden(`You need the ${permission} permission on this guild.`, {
        permission,
        target: { type: 'guild', id: guildId },
      });
    return visibleTo(
      principal,
      permission,
      guild,
      { guildId },
      { name: 'guild', target: { type: 'guild', id: guildId } },
    );
  }
}
