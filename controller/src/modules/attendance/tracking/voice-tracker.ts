/**
 * Attendance tracker. It turns Discord voice-state changes into sessions of
 * time spent in tracked voice channels. It is pure and synchronous: no I/O, no clock
 * (every call carries `nowMs`), no randomness except session ids (injectable). The
 * caller persists what comes back: completed sessions, and snapshots of the open ones.
 *
 * Rules
 *
 * 1. Tracked channel. In mode `all` every channel is tracked; in `allowlist` only the
 *    listed channels; in `denylist` every channel except the listed ones; in `off` none.
 *    The guild's AFK channel is never tracked. Bots are ignored entirely: they never
 *    have sessions and never count as company. A guild never given settings is in mode
 *    `off`, but where its members are is still followed, so sessions open as soon as
 *    it is configured.
 * 2. Session. A non-bot member present in a tracked channel has exactly one open
 *    session, for that channel. It opens when the member joins or moves into the
 *    channel, when the channel becomes tracked, on `reopenPresent` and on `reconcile`.
 *    It closes with reason `leave` (left voice), `move` (moved to any other channel;
 *    a session for the new channel opens at the same instant if that one is tracked),
 *    `untracked` (a settings change stopped tracking the channel), `reset` / `shutdown`
 *    (`closeAll`), or `reconcile` (found gone or moved after an outage, rule 6).
 * 3. Pause. At every instant a session is either counting or paused. It is paused when
 *    any enabled rule holds:
 *    - pauseOnMute: the member is self-muted or server-muted;
 *    - pauseOnDeafen: the member is self-deafened or server-deafened;
 *    - pauseWhenSolo: no other non-bot member is present in the same channel. Others
 *      count whatever their own mute, deafen or pause state; bots never count.
 *    Flags are read as Discord reports them (Discord self-mutes whoever self-deafens,
 *    so pauseOnMute alone also pauses a self-deafened member). The pause state is
 *    re-evaluated at the instant of every change that can alter it: the member's own
 *    flags; a second member arriving or the last other member leaving, which changes
 *    the solo state of the members who stayed; a settings change.
 * 4. Duration. activeMs is the counting time and pausedMs the paused time; outside
 *    outages activeMs + pausedMs = endedAtMs − startedAtMs exactly.
 * 5. Minimum stay. A session closed for `leave`, `move`, `untracked` or `reconcile` is
 *    discarded (returned with `discarded: true`: neither store nor count it) when
 *    endedAtMs − stayStartedAtMs < minSessionSeconds × 1000, using the minimum in force
 *    at close time. The stay is the member's uninterrupted presence in that channel,
 *    which resets, settings changes and restarts do not interrupt, so a reset never
 *    turns part of a long stay into a "short session". Sessions closed for `reset` or
 *    `shutdown` are never discarded: the stay has not ended.
 * 6. Observation and outages. A guild is observed at the `nowMs` of each of its
 *    voiceStateUpdate calls and of each `heartbeat(nowMs)`, which the caller makes
 *    periodically while, and only while, the gateway connection is up (and just before
 *    `snapshot()`). discord.js replays nothing missed while disconnected, so after a
 *    reconnect or restart the caller passes the guild's current voice states to
 *    `reconcile`. For each open session let L be its last observation (the guild's,
 *    or the persisted `lastObservedAtMs` of a restored session), the gap G = nowMs − L
 *    and the credit C = min(G, maxOutageCreditSeconds × 1000). The session is
 *    accounted normally up to L; then
 *    - still in the same, still tracked, channel: it continues. C is added to activeMs
 *      if it was counting at L, to pausedMs if it was paused, G to outageMs, and from
 *      nowMs it follows the current state. Its span now holds G − C ms that count as
 *      neither active nor paused;
 *    - gone, or in another channel: it closes with reason `reconcile` at
 *      endedAtMs = L + C, C added as above and to outageMs;
 *    - members found in tracked channels without a session open one at nowMs (they
 *      arrived during the gap at an unknown time: no credit).
 *    Hence in every session activeMs + pausedMs + (outageMs − credited) =
 *    endedAtMs − startedAtMs, at most C ms per gap is credited, and outageMs says how
 *    much of the span was not seen.
 * 7. Restart. `snapshot()` lists the open sessions accounted up to their last
 *    observation; `restore()` loads them unobserved. The caller then calls
 *    `settingsChanged` and `reconcile` per guild once the gateway delivers the guild.
 *    Should anything come first: a voiceStateUpdate that still shows a restored member
 *    in the session's channel resumes it under rule 6, one that does not closes it
 *    under rule 6 (reason `reconcile`); `closeAll` and an untracking `settingsChanged`
 *    close restored sessions at L + C. Nothing else counts a restored session's time.
 * 8. Time never runs backwards inside a session: a `nowMs` earlier than the time a
 *    session is accounted to is treated as that time.
 */
import { randomUUID } from 'node:crypto';
import { GuildVoice, type Presence } from './guild-voice.js';
import {
  completeRecord,
  endAfterOutage,
  openRecord,
  recordFromSnapshot,
  resumeAfterOutage,
  type SessionRecord,
  setPaused,
  viewAt,
} from './session-clock.js';
import {
  type ClosedSession,
  type CloseReason,
  type GuildTrackingSettings,
  type OpenSession,
  SNAPSHOT_VERSION,
  type TrackerSnapshot,
  UNCONFIGURED_SETTINGS,
  type VoiceStateInput,
} from './tracker.types.js';
import { compileSettings, isChannelTracked, isPaused } from './tracking-rules.js';

export const DEFAULT_MAX_OUTAGE_CREDIT_SECONDS = 300;

export interface VoiceTrackerOptions {
  /** Rule 6: the most of one outage credited to a session. Default 300. */
  maxOutageCreditSeconds?: number;
  /** Session id source; default `crypto.randomUUID` (v4). Tests inject a counter. */
  newSessionId?: () => string;
}

const NONE: readonly ClosedSession[] = Object.freeze([]);

export class VoiceTracker {
  private readonly guilds = new Map<string, GuildVoice>();
  private readonly maxOutageCreditMs: number;
  private readonly newSessionId: () => string;

  constructor(options: VoiceTrackerOptions = {}) {
    this.maxOutageCreditMs = (options.maxOutageCreditSeconds ?? DEFAULT_MAX_OUTAGE_CREDIT_SECONDS) * 1000;
    this.newSessionId = options.newSessionId ?? randomUUID;
  }

  /**
   * Applies a guild's settings (also the first configuration): sessions in channels no
   * longer tracked close (`untracked`), members in newly tracked channels get sessions,
   * pause states are re-evaluated under the new fairness rules, all at `nowMs`.
   */
  settingsChanged(guildId: string, settings: GuildTrackingSettings, nowMs: number): ClosedSession[] {
    const compiled = compileSettings(settings);
    const guild = this.guild(guildId);
    guild.settings = compiled;
    const closed: ClosedSession[] = [];
    for (const record of [...guild.sessions.values()])
      if (!isChannelTracked(compiled, record.channelId))
        closed.push(this.close(guild, record, 'untracked', nowMs));
    this.openForPresent(guild, nowMs);
    for (const record of guild.sessions.values()) this.evaluate(guild, record, nowMs);
    return closed;
  }

  /**
   * One Discord voiceStateUpdate. `after` null, or `after.channelId` null, means the
   * member left voice. The tracker's own record of where the member was is
   * authoritative; `before` only supplies the member when `after` is null (discord.js
   * may hand an uncached, partial old state).
   */
  voiceStateUpdate(
    guildId: string,
    before: VoiceStateInput | null,
    after: VoiceStateInput | null,
    nowMs: number,
  ): readonly ClosedSession[] {
    const member = after ?? before;
    if (!member || member.isBot) return NONE;
    const guild = this.guild(guildId);
    guild.observe(nowMs);
    const userId = member.userId;
    /** Where the member is now: `after` when it names a channel, else nowhere. */
    const arrived = after?.channelId != null ? (after as VoiceStateInput & { channelId: string }) : null;
    const closed: ClosedSession[] = [];
    let session = guild.sessions.get(userId);
    if (session && session.blindSinceMs !== null) {
      // Rule 7: first sight of a restored session's member.
      if (session.channelId === arrived?.channelId)
        resumeAfterOutage(session, session.blindSinceMs, nowMs, this.maxOutageCreditMs);
      else {
        closed.push(this.close(guild, session, 'reconcile', nowMs));
        session = undefined;
      }
    }
    const presence = guild.presence.get(userId);
    const fromChannel = presence?.channelId ?? session?.channelId ?? null;

    if (arrived && arrived.channelId === fromChannel) {
      // Same channel: only the flags can have changed.
      if (presence) {
        presence.selfMute = arrived.selfMute;
        presence.serverMute = arrived.serverMute;
        presence.selfDeaf = arrived.selfDeaf;
        presence.serverDeaf = arrived.serverDeaf;
      } else this.arrive(guild, userId, arrived, session?.stayStartedAtMs ?? nowMs, nowMs);
      if (session) this.evaluate(guild, session, nowMs);
    } else if (arrived || fromChannel !== null) {
      if (session) closed.push(this.close(guild, session, arrived ? 'move' : 'leave', nowMs));
      const left = guild.unplace(userId);
      if (left && left.remaining === 1) this.evaluateChannel(guild, left.channelId, nowMs);
      if (arrived) {
        this.arrive(guild, userId, arrived, nowMs, nowMs);
        if (isChannelTracked(guild.settings, arrived.channelId)) this.open(guild, userId, nowMs);
      }
    }
    return closed.length > 0 ? closed : NONE;
  }

  /** Rule 6: the gateway is up and this guild (or every guild) is being watched at `nowMs`. */
  heartbeat(nowMs: number, guildId?: string): void {
    if (guildId !== undefined) this.guild(guildId).observe(nowMs);
    else for (const guild of this.guilds.values()) guild.observe(nowMs);
  }

  /**
   * Rule 6: after a reconnect or restart, replaces what the tracker believed about the
   * guild's voice channels with `currentVoiceStates` (every member in voice; bots and
   * entries with a null channel are ignored). Returns the sessions it closed.
   */
  reconcile(guildId: string, currentVoiceStates: readonly VoiceStateInput[], nowMs: number): ClosedSession[] {
    const guild = this.guild(guildId);
    const previous = new Map(guild.presence);
    guild.clearPresence();
    for (const state of currentVoiceStates) {
      if (state.isBot || state.channelId === null) continue;
      const known = previous.get(state.userId);
      const session = guild.sessions.get(state.userId);
      const stayStartedAtMs =
        known?.channelId === state.channelId
          ? known.stayStartedAtMs
          : session?.channelId === state.channelId
            ? session.stayStartedAtMs
            : nowMs;
      guild.unplace(state.userId); // listed twice: the last entry wins
      guild.place(state.userId, state as VoiceStateInput & { channelId: string }, stayStartedAtMs);
    }
    const closed: ClosedSession[] = [];
    for (const record of [...guild.sessions.values()]) {
      const lastObservedAtMs = record.blindSinceMs ?? Math.max(guild.lastObservedAtMs, record.accountedToMs);
      const present = guild.presence.get(record.userId);
      if (present?.channelId === record.channelId && isChannelTracked(guild.settings, record.channelId)) {
        resumeAfterOutage(record, lastObservedAtMs, nowMs, this.maxOutageCreditMs);
      } else {
        const endedAtMs = endAfterOutage(record, lastObservedAtMs, nowMs, this.maxOutageCreditMs);
        closed.push(this.finish(guild, record, 'reconcile', endedAtMs));
      }
    }
    this.openForPresent(guild, nowMs);
    for (const record of guild.sessions.values()) this.evaluate(guild, record, nowMs);
    guild.observe(nowMs);
    return closed;
  }

  /**
   * Closes every open session of the guild with `reason` (a period reset, a shutdown).
   * Where members are is kept: after a reset the caller calls `reopenPresent`.
   */
  closeAll(guildId: string, reason: CloseReason, nowMs: number): ClosedSession[] {
    const guild = this.guilds.get(guildId);
    if (!guild) return [];
    return [...guild.sessions.values()].map((record) => this.close(guild, record, reason, nowMs));
  }

  /** Opens sessions at `nowMs` for members present in tracked channels without one; returns how many. */
  reopenPresent(guildId: string, nowMs: number): number {
    const guild = this.guilds.get(guildId);
    return guild ? this.openForPresent(guild, nowMs) : 0;
  }

  /**
   * Live occupancy: the guild's open sessions accounted up to `nowMs` (default: the
   * guild's last observation). A restored session not yet seen again stops at its
   * last observation.
   */
  openSessions(guildId: string, nowMs?: number): OpenSession[] {
    const guild = this.guilds.get(guildId);
    if (!guild) return [];
    return [...guild.sessions.values()].map((record) =>
      viewAt(record, record.blindSinceMs ?? nowMs ?? guild.lastObservedAtMs),
    );
  }

  /** The guilds the tracker holds state for. */
  guildIds(): string[] {
    return [...this.guilds.keys()];
  }

  /** Rule 7: every open session, accounted up to its last observation. JSON-serialisable. */
  snapshot(): TrackerSnapshot {
    const sessions: OpenSession[] = [];
    for (const guildId of this.guilds.keys()) sessions.push(...this.openSessions(guildId));
    return { version: SNAPSHOT_VERSION, sessions };
  }

  /**
   * Rule 7: replaces all open sessions and presence with the snapshot's sessions,
   * unobserved until reconciled. Settings already given are kept.
   */
  restore(snapshot: TrackerSnapshot): void {
    if (snapshot.version !== SNAPSHOT_VERSION)
      throw new Error(`unsupported tracker snapshot version ${String(snapshot.version)}`);
    for (const guild of this.guilds.values()) {
      guild.sessions.clear();
      guild.clearPresence();
    }
    for (const session of snapshot.sessions) {
      const guild = this.guild(session.guildId);
      if (guild.sessions.has(session.userId))
        throw new Error(
          `snapshot holds two open sessions for user ${session.userId} in guild ${session.guildId}`,
        );
      guild.sessions.set(session.userId, recordFromSnapshot(session));
    }
  }

  private guild(guildId: string): GuildVoice {
    let guild = this.guilds.get(guildId);
    if (!guild) {
      guild = new GuildVoice(guildId, compileSettings(UNCONFIGURED_SETTINGS));
      this.guilds.set(guildId, guild);
    }
    return guild;
  }

  /** Places a member in a channel and re-evaluates whoever just stopped being solo. */
  private arrive(
    guild: GuildVoice,
    userId: string,
    state: VoiceStateInput & { channelId: string },
    stayStartedAtMs: number,
    nowMs: number,
  ): void {
    if (guild.place(userId, state, stayStartedAtMs) === 2)
      this.evaluateChannel(guild, state.channelId, nowMs);
  }

  private open(guild: GuildVoice, userId: string, nowMs: number): void {
    const presence = guild.presence.get(userId)!;
    const ids = {
      sessionId: this.newSessionId(),
      guildId: guild.guildId,
      userId,
      channelId: presence.channelId,
    };
    const record = openRecord(ids, nowMs, presence.stayStartedAtMs, this.pausedNow(guild, userId, presence));
    guild.sessions.set(userId, record);
  }

  private openForPresent(guild: GuildVoice, nowMs: number): number {
    let opened = 0;
    for (const [userId, presence] of guild.presence)
      if (!guild.sessions.has(userId) && isChannelTracked(guild.settings, presence.channelId)) {
        this.open(guild, userId, nowMs);
        opened++;
      }
    return opened;
  }

  private pausedNow(guild: GuildVoice, userId: string, presence: Presence): boolean {
    const fairness = guild.settings.fairness;
    const companions = fairness.pauseWhenSolo ? guild.companionsOf(userId, presence.channelId) : 1;
    return isPaused(fairness, presence, companions);
  }

  private evaluate(guild: GuildVoice, record: SessionRecord, nowMs: number): void {
    if (record.blindSinceMs !== null) return;
    const presence = guild.presence.get(record.userId);
    if (presence) setPaused(record, this.pausedNow(guild, record.userId, presence), nowMs);
  }

  /** The solo rule: re-evaluates everyone in a channel whose head count crossed 1 ↔ 2. */
  private evaluateChannel(guild: GuildVoice, channelId: string, nowMs: number): void {
    if (!guild.settings.fairness.pauseWhenSolo) return;
    for (const userId of guild.membersByChannel.get(channelId) ?? []) {
      const record = guild.sessions.get(userId);
      if (record) this.evaluate(guild, record, nowMs);
    }
  }

  private close(guild: GuildVoice, record: SessionRecord, reason: CloseReason, nowMs: number): ClosedSession {
    const endedAtMs =
      record.blindSinceMs !== null
        ? endAfterOutage(record, record.blindSinceMs, nowMs, this.maxOutageCreditMs)
        : nowMs;
    return this.finish(guild, record, reason, endedAtMs);
  }

  private finish(
    guild: GuildVoice,
    record: SessionRecord,
    reason: CloseReason,
    endedAtMs: number,
  ): ClosedSession {
    guild.sessions.delete(record.userId);
    const session = completeRecord(record, endedAtMs, reason);
    const stayEnded = reason !== 'reset' && reason !== 'shutdown';
    const discarded = stayEnded && session.endedAtMs - record.stayStartedAtMs < guild.settings.minStayMs;
    return { session, discarded };
  }
}
