/**
 * Connects the Discord bot's callbacks to the voice tracker, following the flow the
 * tracker's rules 6 and 7 ask of its caller (`tracking/voice-tracker.ts`):
 * - a guild available (login, re-identify, joining it): registered (`registerGuild`: its
 *   name, AFK channel, the bot present), its settings, then `reconcile` with every voice
 *   state found there, both at one instant;
 * - a voice update: `voiceStateUpdate`;
 * - the bot removed from a guild: its open sessions close (`reconcile` with nobody, at
 *   now: they can no longer be watched), then `onGuildRemoved`;
 * - while, and only while, the gateway is up (bot state `ready`): a heartbeat every
 *   interval, followed by a snapshot of the open sessions for restart safety;
 * - a session opened (a join, a reconcile) that no saved snapshot holds: a snapshot at
 *   once, in the background, so a process killed without warning (SIGKILL, a lost host,
 *   a leader replica dying) leaves it for the next start or leader to continue;
 * - on stop: a last heartbeat (if still connected) and a snapshot. Open sessions are
 *   not closed: a restart restores and reconciles them.
 *
 * Closed sessions (discarded ones included, flagged) go to `onClosed`; snapshots to
 * `onSnapshot`; the members each event shows (their names) to `onMembersSeen`. Sink failures
 * are logged, never thrown back into the bot's queue: the tracker has already moved on, and the
 * bot would only log them again.
 *
 * Everything is driven by the bot's callbacks, which the bot delivers one at a time in
 * gateway order and awaits; the clock and the interval timer are injected.
 */
import {
  type ClosedSession,
  type GuildTrackingSettings,
  type TrackerSnapshot,
  UNCONFIGURED_SETTINGS,
  type VoiceStateInput,
} from '../tracking/tracker.types.js';
import type { VoiceTracker } from '../tracking/voice-tracker.js';
import type { DiscordBotLogger, DiscordBotOptions, DiscordBotState } from './discord-bot.js';

/** What the bot hands over for each member: the tracker's input, unchanged (`BotVoiceState` is the same type). */
export type BridgeVoiceState = VoiceStateInput;

/** A guild as the gateway announced it. */
export interface BridgeGuild {
  id: string;
  name: string;
  afkChannelId: string | null;
}

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;

/** The interval timer; `globalThis`'s by default, a hand-driven one in tests. */
export interface HeartbeatTimers {
  setInterval(tick: () => void, intervalMs: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface AttendanceBridgeOptions {
  tracker: VoiceTracker;
  /** Epoch milliseconds. */
  now: () => number;
  /**
   * A guild's tracking settings, read on every guild available and `refreshSettings`.
   * Omitted: every guild is unconfigured (`UNCONFIGURED_SETTINGS`, mode `off`). The AFK
   * channel Discord reports for the guild replaces the one in the settings.
   */
  settingsFor?(guildId: string): Promise<GuildTrackingSettings>;
  /**
   * A guild became available: record it (create or rename, the bot present) before its
   * settings are read. A failure is logged; the guild is still reconciled.
   */
  registerGuild?(guild: BridgeGuild): Promise<void>;
  /** The bot is no longer in the guild (after its sessions were closed). Failures are logged. */
  onGuildRemoved?(guildId: string): Promise<void>;
  /**
   * The members a guild's voice states showed (all of them when it became available, the one
   * that changed on an update), after the tracker took the event. Failures are logged.
   */
  onMembersSeen?(guildId: string, members: readonly BridgeVoiceState[]): Promise<void>;
  /** Sessions the tracker closed; `discarded` ones are to be neither stored nor counted. */
  onClosed(closed: ClosedSession[]): Promise<void>;
  /** The open sessions, after every heartbeat and on stop (rule 7). */
  onSnapshot(snapshot: TrackerSnapshot): Promise<void>;
  /** Default 30 000. */
  heartbeatIntervalMs?: number;
  timers?: HeartbeatTimers;
  /**
   * The leader's lease (cluster/leader-election.ts): every event, heartbeat and snapshot asks
   * `holds()` first; the last heartbeat and snapshot on stop are written only while
   * `unexpired()` (a leader fenced by its lease leaves the database to the next one).
   * Omitted: always held.
   */
  fence?: { holds(): boolean; unexpired(): boolean };
  log: DiscordBotLogger;
}

/** The DiscordBot callbacks the bridge serves. */
export type BridgeBotCallbacks = Required<
  Pick<DiscordBotOptions, 'onVoiceStateUpdate' | 'onGuildAvailable' | 'onGuildRemoved' | 'onStateChange'>
>;

const SYSTEM_TIMERS: HeartbeatTimers = {
  setInterval: (tick, intervalMs) => setInterval(tick, intervalMs),
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};

export class AttendanceBridge {
  private running = false;
  private botState: DiscordBotState = 'stopped';
  private timer: unknown;
  /** The AFK channel Discord last reported per guild; it overrides the stored setting. */
  private readonly afkChannels = new Map<string, string | null>();
  /** Guilds whose settings lookup and reconcile are under way: not heartbeated meanwhile. */
  private readonly reconciling = new Set<string>();
  private snapshotting: Promise<void> | undefined;
  /** A snapshot was asked for while one was being saved: save again after it. */
  private snapshotAgain = false;
  /** The session ids in the last snapshot saved. */
  private saved = new Set<string>();
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: AttendanceBridgeOptions) {}

  /** Running, and (in a cluster) still the leader within its lease. */
  private acting(): boolean {
    return this.running && (this.options.fence?.holds() ?? true);
  }

  /** Callbacks to pass to `new DiscordBot({...})`. */
  botCallbacks(): BridgeBotCallbacks {
    return {
      onVoiceStateUpdate: (guildId, before, after) => this.voiceStateUpdate(guildId, before, after),
      onGuildAvailable: (guildId, voiceStates, afkChannelId, name) =>
        this.guildAvailable(guildId, voiceStates, afkChannelId, name),
      onGuildRemoved: (guildId) => this.guildRemoved(guildId),
      onStateChange: (state) => this.stateChanged(state),
    };
  }

  /** Start before the bot, so its first events are followed. */
  async start(): Promise<void> {
    this.running = true;
    this.stopping = undefined;
    if (this.botState === 'ready') this.startHeartbeats();
  }

  /**
   * Stop after the bot (which waits for its callbacks under way): a last heartbeat if the
   * bot is still connected, then the snapshot. Later events are ignored. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopHeartbeats();
    if (this.options.fence && !this.options.fence.unexpired()) return;
    if (this.botState === 'ready') this.options.tracker.heartbeat(this.options.now());
    await this.snapshotting;
    await this.saveSnapshot();
  }

  /**
   * Rule 6/7: the guild registered, its settings, then its voice states as they are now,
   * at one instant. `name` defaults to the id (a guild is renamed when it next appears).
   */
  async guildAvailable(
    guildId: string,
    voiceStates: readonly BridgeVoiceState[],
    afkChannelId: string | null,
    name: string = guildId,
  ): Promise<void> {
    if (!this.acting()) return;
    this.afkChannels.set(guildId, afkChannelId);
    this.reconciling.add(guildId);
    try {
      if (this.options.registerGuild) await this.register({ id: guildId, name, afkChannelId });
      const settings = await this.lookUpSettings(guildId);
      const { tracker, now } = this.options;
      const nowMs = now();
      const closed = settings ? tracker.settingsChanged(guildId, settings, nowMs) : [];
      closed.push(...tracker.reconcile(guildId, voiceStates, nowMs));
      await this.deliver(closed);
    } finally {
      this.reconciling.delete(guildId);
    }
    this.saveIfOpened(guildId);
    await this.membersSeen(guildId, voiceStates);
  }

  /**
   * The bot left or was removed from the guild: nobody there can be watched any more, so
   * its open sessions close now (reason `reconcile`); then `onGuildRemoved`.
   */
  async guildRemoved(guildId: string): Promise<void> {
    if (!this.acting()) return;
    this.afkChannels.delete(guildId);
    const { tracker, now } = this.options;
    const nowMs = now();
    // Watched until now: the removal is the first thing the gateway said about it.
    if (this.botState === 'ready') tracker.heartbeat(nowMs, guildId);
    await this.deliver(tracker.reconcile(guildId, [], nowMs));
    try {
      await this.options.onGuildRemoved?.(guildId);
    } catch (err) {
      this.options.log.error({ err, guildId }, 'recording that the bot left the guild failed');
    }
  }

  async voiceStateUpdate(
    guildId: string,
    before: BridgeVoiceState | null,
    after: BridgeVoiceState | null,
  ): Promise<void> {
    if (!this.acting()) return;
    const closed = this.options.tracker.voiceStateUpdate(guildId, before, after, this.options.now());
    if (closed.length > 0) await this.deliver([...closed]);
    this.saveIfOpened(guildId);
    const member = after ?? before;
    if (member) await this.membersSeen(guildId, [member]);
  }

  private async membersSeen(guildId: string, members: readonly BridgeVoiceState[]): Promise<void> {
    if (!this.options.onMembersSeen || members.length === 0) return;
    try {
      await this.options.onMembersSeen(guildId, members);
    } catch (err) {
      this.options.log.error({ err, guildId }, 'keeping the member names failed');
    }
  }

  /** Heartbeats run while the gateway is up; a connection lost stops them until it is back. */
  stateChanged(state: DiscordBotState): void {
    const wasReady = this.botState === 'ready';
    this.botState = state;
    if (!this.acting()) return;
    if (state === 'ready') {
      // A fresh interval: the first beat comes a whole interval after the reconnect,
      // behind the guild snapshots a re-identify queues before it.
      this.stopHeartbeats();
      this.startHeartbeats();
    } else {
      this.stopHeartbeats();
      // Stopped on purpose (or closed for good) while connected: watched until now.
      // A lost connection ('reconnecting') was lost at some unknown earlier instant.
      if (wasReady && state === 'stopped') this.options.tracker.heartbeat(this.options.now());
    }
  }

  /**
   * The guild's settings changed (the attendance service calls this after saving them):
   * reads them again and applies them now.
   */
  async refreshSettings(guildId: string): Promise<void> {
    const closed = await this.applySettings(guildId);
    if (closed) await this.deliver(closed);
  }

  /**
   * Like `refreshSettings`, but returns the sessions the change closed instead of
   * delivering them (the caller stores them under its own actor). Undefined when the
   * bridge is not running or the settings could not be read: nothing was applied.
   */
  async applySettings(guildId: string): Promise<ClosedSession[] | undefined> {
    if (!this.acting()) return undefined;
    const settings = await this.lookUpSettings(guildId);
    if (!settings) return undefined;
    return [...this.options.tracker.settingsChanged(guildId, settings, this.options.now())];
  }

  /** One heartbeat: every guild not being reconciled is watched at now; then a snapshot. */
  beat(): void {
    if (!this.acting() || this.botState !== 'ready') return;
    const { tracker, now } = this.options;
    const nowMs = now();
    for (const guildId of tracker.guildIds())
      if (!this.reconciling.has(guildId)) tracker.heartbeat(nowMs, guildId);
    // A slow sink gets one save after the one under way, never a queue of them.
    this.requestSnapshot();
  }

  /** Saves a snapshot when the guild has an open session that none saved yet holds. */
  private saveIfOpened(guildId: string): void {
    if (!this.acting()) return;
    if (this.options.tracker.openSessions(guildId).some((s) => !this.saved.has(s.sessionId)))
      this.requestSnapshot();
  }

  /** A snapshot in the background: one save at a time, one more after it if asked meanwhile. */
  private requestSnapshot(): void {
    if (this.snapshotting) {
      this.snapshotAgain = true;
      return;
    }
    this.snapshotting = this.saveSnapshot().finally(() => {
      this.snapshotting = undefined;
      if (this.snapshotAgain && this.acting()) {
        this.snapshotAgain = false;
        this.requestSnapshot();
      }
    });
  }

  private startHeartbeats(): void {
    if (this.timer !== undefined) return;
    const { timers = SYSTEM_TIMERS, heartbeatIntervalMs = DEFAULT_HEARTBEAT_INTERVAL_MS } = this.options;
    this.timer = timers.setInterval(() => this.beat(), heartbeatIntervalMs);
  }

  private stopHeartbeats(): void {
    if (this.timer === undefined) return;
    (this.options.timers ?? SYSTEM_TIMERS).clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * The settings with Discord's AFK channel; undefined when the lookup failed (the
   * tracker keeps the settings it has, and the guild is still reconciled under them).
   */
  private async lookUpSettings(guildId: string): Promise<GuildTrackingSettings | undefined> {
    let settings: GuildTrackingSettings;
    try {
      settings = this.options.settingsFor ? await this.options.settingsFor(guildId) : UNCONFIGURED_SETTINGS;
    } catch (err) {
      this.options.log.error(
        { err, guildId },
        'reading attendance settings failed; keeping the previous ones',
      );
      return undefined;
    }
    const afkChannelId = this.afkChannels.get(guildId);
    return afkChannelId === undefined ? settings : { ...settings, afkChannelId };
  }

  private async register(guild: BridgeGuild): Promise<void> {
    try {
      await this.options.registerGuild?.(guild);
    } catch (err) {
      this.options.log.error({ err, guildId: guild.id }, 'registering the guild failed');
    }
  }

  private async deliver(closed: ClosedSession[]): Promise<void> {
    if (closed.length === 0) return;
    try {
      await this.options.onClosed(closed);
    } catch (err) {
      const sessionIds = closed.map((c) => c.session.sessionId);
      this.options.log.error({ err, sessionIds }, 'storing closed attendance sessions failed');
    }
  }

  private async saveSnapshot(): Promise<void> {
    try {
      const snapshot = this.options.tracker.snapshot();
      await this.options.onSnapshot(snapshot);
      this.saved = new Set(snapshot.sessions.map((s) => s.sessionId));
    } catch (err) {
      this.options.log.error({ err }, 'saving the attendance snapshot failed');
    }
  }
}
