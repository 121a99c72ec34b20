/**
 * Voice tracking in tests: voice states, tracking settings, a tracker with predictable
 * session ids, a heartbeat timer fired by hand and a logger that keeps only errors.
 */
import type { HeartbeatTimers } from '../../controller/src/modules/attendance/discord/attendance-bridge.js';
import type { DiscordBotLogger } from '../../controller/src/modules/attendance/discord/discord-bot.js';
import type {
  FairnessSettings,
  GuildTrackingSettings,
  VoiceStateInput,
} from '../../controller/src/modules/attendance/tracking/tracker.types.js';
import { VoiceTracker } from '../../controller/src/modules/attendance/tracking/voice-tracker.js';

/** A member in `channelId` (null: not in voice), unmuted, undeafened and human unless `flags` say otherwise. */
export function voiceState(
  userId: string,
  channelId: string | null,
  flags: Partial<VoiceStateInput> = {},
): VoiceStateInput {
  return {
    userId,
    channelId,
    selfMute: false,
    serverMute: false,
    selfDeaf: false,
    serverDeaf: false,
    isBot: false,
    ...flags,
  };
}

/** Guild tracking settings: every channel tracked, no AFK channel, no fairness rule, unless overridden. */
export function trackingSettings(
  overrides: Partial<Omit<GuildTrackingSettings, 'fairness'>> = {},
  fairness: Partial<FairnessSettings> = {},
): GuildTrackingSettings {
  return {
    mode: 'all',
    trackedChannelIds: [],
    afkChannelId: null,
    ...overrides,
    fairness: {
      pauseOnMute: false,
      pauseOnDeafen: false,
      pauseWhenSolo: false,
      minSessionSeconds: 0,
      ...fairness,
    },
  };
}

/** A tracker whose sessions are `s1`, `s2`… in the order they open. */
export function numberedTracker(options: { maxOutageCreditSeconds?: number } = {}): VoiceTracker {
  let id = 0;
  return new VoiceTracker({ ...options, newSessionId: () => `s${++id}` });
}

/** An interval timer the test fires by hand; records whether one is running. */
export class HandTimers implements HeartbeatTimers {
  tick: (() => void) | undefined;
  intervalMs: number | undefined;

  get active(): boolean {
    return this.tick !== undefined;
  }

  setInterval(tick: () => void, intervalMs: number): unknown {
    this.tick = tick;
    this.intervalMs = intervalMs;
    return tick;
  }

  clearInterval(handle: unknown): void {
    if (handle === this.tick) this.tick = undefined;
  }

  fire(): void {
    if (!this.tick) throw new Error('no heartbeat interval is running');
    this.tick();
  }
}

/** A bot logger that drops everything but errors, which go to `onError`. */
export function errorsOnlyLog(onError: (...args: unknown[]) => void): DiscordBotLogger {
  const quiet = () => {};
  return { debug: quiet, info: quiet, warn: quiet, error: onError } as DiscordBotLogger;
}
