/**
 * What the tracker knows of one guild: its compiled settings, where every non-bot member
 * is (in any channel, tracked or not, so a channel that becomes tracked can open
 * sessions), who is in each channel (for the solo rule), and the open sessions.
 */
import type { SessionRecord } from './session-clock.js';
import type { AudioFlags, CompiledSettings } from './tracking-rules.js';

/** A member present in a voice channel. Mutated in place on flag changes. */
export interface Presence extends AudioFlags {
  channelId: string;
  /** When the member entered this channel (or was first seen in it). */
  stayStartedAtMs: number;
}

export class GuildVoice {
  readonly presence = new Map<string, Presence>();
  readonly membersByChannel = new Map<string, Set<string>>();
  /** Open sessions by user id: at most one per member. */
  readonly sessions = new Map<string, SessionRecord>();
  /** Last instant the tracker was connected and watching this guild. */
  lastObservedAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly guildId: string,
    public settings: CompiledSettings,
  ) {}

  observe(nowMs: number): void {
    if (nowMs > this.lastObservedAtMs) this.lastObservedAtMs = nowMs;
  }

  /** Other non-bot members present in `channelId` besides `userId`. */
  companionsOf(userId: string, channelId: string): number {
    const members = this.membersByChannel.get(channelId);
    if (!members) return 0;
    return members.has(userId) ? members.size - 1 : members.size;
  }

  /** Places a member; returns the channel's member count after. */
  place(userId: string, flags: AudioFlags & { channelId: string }, stayStartedAtMs: number): number {
    this.presence.set(userId, {
      channelId: flags.channelId,
      selfMute: flags.selfMute,
      serverMute: flags.serverMute,
      selfDeaf: flags.selfDeaf,
      serverDeaf: flags.serverDeaf,
      stayStartedAtMs,
    });
    let members = this.membersByChannel.get(flags.channelId);
    if (!members) {
      members = new Set();
      this.membersByChannel.set(flags.channelId, members);
    }
    members.add(userId);
    return members.size;
  }

  /** Removes a member; returns the channel it left and that channel's member count after. */
  unplace(userId: string): { channelId: string; remaining: number } | undefined {
    const presence = this.presence.get(userId);
    if (!presence) return undefined;
    this.presence.delete(userId);
    const members = this.membersByChannel.get(presence.channelId);
    if (!members) return { channelId: presence.channelId, remaining: 0 };
    members.delete(userId);
    if (members.size === 0) this.membersByChannel.delete(presence.channelId);
    return { channelId: presence.channelId, remaining: members.size };
  }

  clearPresence(): void {
    this.presence.clear();
    this.membersByChannel.clear();
  }
}
