/**
 * Plain data of the attendance tracker: what the Discord adapter feeds in, what the
 * tracker hands back, and what the caller persists across restarts. Discord ids are
 * strings (snowflakes exceed 2^53); every instant is epoch milliseconds.
 */

/** One member's voice state as the Discord adapter sees it; `channelId: null` = not in voice. */
export interface VoiceStateInput {
  userId: string;
  channelId: string | null;
  selfMute: boolean;
  serverMute: boolean;
  selfDeaf: boolean;
  serverDeaf: boolean;
  isBot: boolean;
  /**
   * The name the guild shows for the member (nickname, else display name, else username), when
   * the gateway sent it. The tracker ignores it; the member names are kept from it.
   */
  displayName?: string;
}

export type TrackingMode = 'off' | 'allowlist' | 'denylist' | 'all';

export interface FairnessSettings {
  pauseOnMute: boolean;
  pauseOnDeafen: boolean;
  pauseWhenSolo: boolean;
  /** Stays shorter than this are discarded when they end; 0 keeps everything. */
  minSessionSeconds: number;
}

export interface GuildTrackingSettings {
  mode: TrackingMode;
  /** The allowlist (mode `allowlist`) or the denylist (mode `denylist`); ignored otherwise. */
  trackedChannelIds: readonly string[];
  /** The guild's AFK channel, never tracked whatever the mode. */
  afkChannelId: string | null;
  fairness: FairnessSettings;
}

export const DEFAULT_FAIRNESS: FairnessSettings = Object.freeze({
  pauseOnMute: false,
  pauseOnDeafen: false,
  pauseWhenSolo: false,
  minSessionSeconds: 0,
});

/** What the tracker assumes for a guild it was never given settings for: track nothing. */
export const UNCONFIGURED_SETTINGS: GuildTrackingSettings = Object.freeze({
  mode: 'off',
  trackedChannelIds: Object.freeze([]) as readonly string[],
  afkChannelId: null,
  fairness: DEFAULT_FAIRNESS,
});

export type CloseReason = 'leave' | 'move' | 'untracked' | 'reset' | 'reconcile' | 'shutdown';

/** A finished session: the record that is stored, signed and summed into leaderboards. */
export interface CompletedSession {
  sessionId: string;
  guildId: string;
  userId: string;
  channelId: string;
  startedAtMs: number;
  endedAtMs: number;
  /** Counted time: in the channel and not paused (plus outage credit, see the tracker). */
  activeMs: number;
  /** Time in the channel while paused by a fairness rule (plus outage credit). */
  pausedMs: number;
  /** Time inside [startedAtMs, endedAtMs) during which the tracker was blind (an outage). */
  outageMs: number;
  closeReason: CloseReason;
}

/** A session the tracker closed, with whether the minimum-stay rule discarded it. */
export interface ClosedSession {
  session: CompletedSession;
  /** True when the stay was shorter than `minSessionSeconds`: do not store or count it. */
  discarded: boolean;
}

/**
 * An open session, as reported for live occupancy and as persisted for restarts.
 * `activeMs` / `pausedMs` / `outageMs` are accounted up to `lastObservedAtMs`.
 */
export interface OpenSession {
  sessionId: string;
  guildId: string;
  userId: string;
  channelId: string;
  startedAtMs: number;
  /** When the member's uninterrupted stay in this channel began (resets do not interrupt it). */
  stayStartedAtMs: number;
  activeMs: number;
  pausedMs: number;
  outageMs: number;
  /** When the current pause began; null while the session counts. */
  pausedSinceMs: number | null;
  /** The last instant the tracker knew this member was in this channel. */
  lastObservedAtMs: number;
}

export const SNAPSHOT_VERSION = 1;

/** The tracker's restart state: JSON-serialisable, one entry per open session. */
export interface TrackerSnapshot {
  version: typeof SNAPSHOT_VERSION;
  sessions: OpenSession[];
}
