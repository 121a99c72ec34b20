/**
 * The two questions the tracker asks of a guild's settings: is this channel tracked,
 * and should this member's session be paused. Pure; the rules are stated in full at
 * the top of `voice-tracker.ts`.
 */
import type { FairnessSettings, GuildTrackingSettings, TrackingMode } from './tracker.types.js';

/** Settings compiled for lookups on every event. */
export interface CompiledSettings {
  readonly settings: GuildTrackingSettings;
  readonly mode: TrackingMode;
  readonly listed: ReadonlySet<string>;
  readonly afkChannelId: string | null;
  readonly fairness: FairnessSettings;
  readonly minStayMs: number;
}

export function compileSettings(settings: GuildTrackingSettings): CompiledSettings {
  const minSessionSeconds = settings.fairness.minSessionSeconds;
  if (!Number.isFinite(minSessionSeconds) || minSessionSeconds < 0)
    throw new RangeError(`minSessionSeconds must be a finite number ≥ 0, got ${minSessionSeconds}`);
  return {
    settings,
    mode: settings.mode,
    listed: new Set(settings.trackedChannelIds),
    afkChannelId: settings.afkChannelId,
    fairness: { ...settings.fairness },
    minStayMs: minSessionSeconds * 1000,
  };
}

export function isChannelTracked(compiled: CompiledSettings, channelId: string): boolean {
  if (channelId === compiled.afkChannelId) return false;
  switch (compiled.mode) {
    case 'off':
      return false;
    case 'all':
      return true;
    case 'allowlist':
      return compiled.listed.has(channelId);
    case 'denylist':
      return !compiled.listed.has(channelId);
  }
}

/** The mute and deafen flags the pause rules read. */
export interface AudioFlags {
  selfMute: boolean;
  serverMute: boolean;
  selfDeaf: boolean;
  serverDeaf: boolean;
}

/**
 * Whether a member's session is paused. `companions` is the number of other non-bot
 * members present in the same channel, whatever their own mute or deafen state.
 */
export function isPaused(fairness: FairnessSettings, flags: AudioFlags, companions: number): boolean {
  if (fairness.pauseOnMute && (flags.selfMute || flags.serverMute)) return true;
  if (fairness.pauseOnDeafen && (flags.selfDeaf || flags.serverDeaf)) return true;
  return fairness.pauseWhenSolo && companions === 0;
}
