/**
 * The glue between the pure voice tracker and the database (docs/architecture.md, flow 3): completed
 * sessions are stored in the guild's current period, signed at once when the guild's
 * key is unlocked and stored unsigned otherwise (signed on unlock); open sessions are
 * saved as a tracker snapshot and restored at start; a guild that (re)appears is
 * upserted, configured and reconciled. The Discord adapter and the inbound webhook
 * both feed the same tracker through here.
 */

import type { Actor, AuditWriter, RequestContext } from '../../../core/audit.types.js';
import { notFound } from '../../../core/errors.js';
import type { Db, Tx } from '../../../db/client.js';
import type { CommandUsageRepository } from '../discord/command-usage.repository.js';
import type {
  AttendanceEvent,
  AttendanceEvents,
  SessionCompletedEvent,
} from '../guilds/attendance-events.js';
import type { GuildLocks } from '../guilds/guild-locks.js';
import type { GuildRow, GuildsRepository } from '../guilds/guilds.repository.js';
import type { SignedRecord } from '../signing/records.js';
import { receiptOf, type SessionFields } from '../signing/session-receipts.js';
import type { AttendanceSigningService } from '../signing/signing.service.js';
import type { SessionsRepository } from './sessions.repository.js';
import {
  type ClosedSession,
  type CompletedSession,
  type GuildTrackingSettings,
  type OpenSession,
  SNAPSHOT_VERSION,
  type TrackerSnapshot,
  type TrackingMode,
  type VoiceStateInput,
} from './tracker.types.js';
import type { VoiceTracker } from './voice-tracker.js';

export type SessionSource = 'discord' | 'webhook';

const BOT_ACTOR: Actor = { type: 'system', id: null, name: 'attendance-tracker' };

/** An open session as persisted: the tracker's snapshot entry plus where it came from. */
interface PersistedOpenSession extends OpenSession {
  source?: SessionSource;
}

export interface StoreOrigin {
  actor: Actor;
  context?: RequestContext;
}

export function trackingSettingsOf(guild: GuildRow): GuildTrackingSettings {
  return {
    mode: guild.trackingMode as TrackingMode,
    trackedChannelIds: guild.trackedChannels.map((c) => c.channelId),
    afkChannelId: guild.afkChannelId,
    fairness: {
      pauseOnMute: guild.pauseOnMute,
      pauseOnDeafen: guild.pauseOnDeafen,
      pauseWhenSolo: guild.pauseWhenSolo,
      minSessionSeconds: guild.minSessionSeconds,
    },
  };
}

function sessionCompleted(
  row: SessionFields & { periodIndex: number; source: string },
  signed: boolean,
): SessionCompletedEvent {
  return {
    type: 'session.completed',
    guildId: row.guildId,
    periodIndex: row.periodIndex,
    session: {
      id: row.id,
      userId: row.userId,
      channelId: row.channelId,
      startedAt: row.startedAt.toISOString(),
      endedAt: row.endedAt.toISOString(),
      activeMs: row.activeMs,
      pausedMs: row.pausedMs,
      outageMs: row.outageMs,
      closeReason: row.closeReason,
      source: row.source,
      signed,
    },
  };
}

export class AttendanceService {
  /** Sessions opened from the inbound webhook rather than the gateway, by session id. */
  private readonly webhookSessions = new Set<string>();
  /** Guilds whose stored settings the tracker has been given in this process. */
  private readonly configured = new Set<string>();
  /** While the Discord bot runs, settings changes reach the tracker through its bridge. */
  private liveSettings: ((guildId: string) => Promise<ClosedSession[] | undefined>) | undefined;

  private readonly db: Db;
  private readonly guildsRepo: GuildsRepository;
  private readonly sessionsRepo: SessionsRepository;
  private readonly commandUsageRepo: CommandUsageRepository;
  private readonly signing: AttendanceSigningService;
  private readonly audit: AuditWriter;
  private readonly tracker: VoiceTracker;
  private readonly locks: GuildLocks;
  private readonly events: AttendanceEvents;
  private readonly now: () => Date;

  constructor(options: {
    db: Db;
    guildsRepo: GuildsRepository;
    sessionsRepo: SessionsRepository;
    commandUsageRepo: CommandUsageRepository;
    signing: AttendanceSigningService;
    audit: AuditWriter;
    tracker: VoiceTracker;
    locks: GuildLocks;
    events: AttendanceEvents;
    now?: () => Date;
  }) {
    this.db = options.db;
    this.guildsRepo = options.guildsRepo;
    this.sessionsRepo = options.sessionsRepo;
    this.commandUsageRepo = options.commandUsageRepo;
    this.signing = options.signing;
    this.audit = options.audit;
    this.tracker = options.tracker;
    this.locks = options.locks;
    this.events = options.events;
    this.now = options.now ?? (() => new Date());
  }

  /** Live view of the guild's open sessions, accounted up to now. */
  openSessions(guildId: string): OpenSession[] {
    return this.tracker.openSessions(guildId, this.now().getTime());
  }

  /**
   * Stores completed (non-discarded) sessions in their guild's current period: signed
   * now when the guild's key is unlocked, else unsigned until the next unlock.
   */
  async applyClosed(
    closed: readonly ClosedSession[],
    origin: StoreOrigin = { actor: BOT_ACTOR },
  ): Promise<number> {
    const byGuild = new Map<string, CompletedSession[]>();
    for (const { session, discarded } of closed) {
      if (discarded) {
        this.webhookSessions.delete(session.sessionId);
        continue;
      }
      const list = byGuild.get(session.guildId) ?? [];
      list.push(session);
      byGuild.set(session.guildId, list);
    }
    let stored = 0;
    for (const [guildId, sessions] of byGuild) {
      const published: AttendanceEvent[] = [];
      stored += await this.locks.run(guildId, () =>
        this.db.$transaction(async (tx) => this.storeInTx(tx, guildId, sessions, origin, published)),
      );
      this.events.afterCommit(published);
    }
    return stored;
  }

  /**
   * Inside the guild's lock and the caller's transaction: signs (if unlocked) and
   * inserts, skipping sessions already stored (a restart can replay a close). The
   * `session.completed` events go to the in-transaction handlers and onto `published`,
   * which the caller hands to `AttendanceEvents.afterCommit` once committed.
   */
  async storeInTx(
    tx: Tx,
    guildId: string,
    sessions: readonly CompletedSession[],
    origin: StoreOrigin,
    published: AttendanceEvent[],
  ): Promise<number> {
    if (sessions.length === 0) return 0;
    let guild = await this.guildsRepo.findGuild(guildId, tx);
    if (!guild) {
      await this.guildsRepo.createGuild(tx, { id: guildId, name: guildId, periodStartedAt: this.now() });
      guild = (await this.guildsRepo.findGuild(guildId, tx))!;
    }
    const existing = await this.sessionsRepo.existingSessionIds(
      tx,
      sessions.map((s) => s.sessionId),
    );
    const fresh = sessions.filter((s) => !existing.has(s.sessionId));
    const at = this.now();
    const rows = [];
    for (const s of fresh) {
      const row = {
        id: s.sessionId,
        guildId,
        userId: s.userId,
        channelId: s.channelId,
        periodIndex: guild.periodIndex,
        startedAt: new Date(s.startedAtMs),
        endedAt: new Date(s.endedAtMs),
        activeMs: s.activeMs,
        pausedMs: s.pausedMs,
        outageMs: s.outageMs,
        closeReason: s.closeReason,
        source: this.webhookSessions.has(s.sessionId) ? 'webhook' : 'discord',
      };
      const signed: SignedRecord | undefined = await this.signing.signNow(guildId, receiptOf(row));
      rows.push(
        signed
          ? {
              ...row,
              signedBytes: signed.signedBytes,
              signature: signed.signature,
              keyId: signed.keyId,
              payloadHash: signed.payloadHash,
              signedAt: at,
            }
          : row,
      );
      this.webhookSessions.delete(s.sessionId);
    }
    await this.sessionsRepo.insertSessions(tx, rows);
    const events = rows.map((row) => sessionCompleted(row, 'signedBytes' in row));
    await this.events.inTransaction(tx, events);
    published.push(...events);
    await this.sessionsRepo.forgetOpenSessions(
      tx,
      sessions.map((s) => ({ guildId, userId: s.userId })),
    );
    if (rows.length > 0)
      await this.audit.record(tx, {
        actor: origin.actor,
        permission: 'attendance:manage',
        action: 'attendance.sessions.store',
        target: { type: 'guild', id: guildId },
        outcome: 'success',
        after: {
          sessions: rows.length,
          signed: rows.filter((r) => 'signedBytes' in r).length,
          periodIndex: guild.periodIndex,
        },
        context: origin.context,
      });
    return rows.length;
  }

  /** The stored tracking settings of a guild (for the bot bridge); null when unknown. */
  async settingsFor(guildId: string): Promise<GuildTrackingSettings | null> {
    const guild = await this.guildsRepo.findGuild(guildId);
    if (!guild) return null;
    this.configured.add(guildId);
    return trackingSettingsOf(guild);
  }

  /** Saves every open session (the tracker's snapshot) so a restart can reconcile them. */
  saveSnapshot(): Promise<number> {
    return this.saveSnapshotOf(this.tracker.snapshot());
  }

  /** Saves a snapshot taken by the caller (the bot bridge takes it after each heartbeat). */
  async saveSnapshotOf(snapshot: TrackerSnapshot): Promise<number> {
    await this.sessionsRepo.replaceOpenSessions(
      snapshot.sessions.map((s) => ({
        guildId: s.guildId,
        userId: s.userId,
        state: JSON.stringify({
          ...s,
          ...(this.webhookSessions.has(s.sessionId) ? { source: 'webhook' } : {}),
        } satisfies PersistedOpenSession),
      })),
    );
    return snapshot.sessions.length;
  }

  /** Loads the saved open sessions into the tracker (before the gateway delivers guilds). */
  async restoreSnapshot(): Promise<number> {
    const rows = await this.sessionsRepo.openSessionStates();
    const sessions: OpenSession[] = [];
    for (const row of rows) {
      const { source, ...session } = JSON.parse(row.state) as PersistedOpenSession;
      if (source === 'webhook') this.webhookSessions.add(session.sessionId);
      sessions.push(session);
    }
    this.tracker.restore({ version: SNAPSHOT_VERSION, sessions });
    return sessions.length;
  }

  /**
   * This process stops leading (another replica, or the next start, takes the bot over):
   * saves the open sessions for it, then forgets them here, so a follower shows no stale
   * live sessions and a later election restores whatever the leader in between left.
   * `save: false` (a leader past its lease) only forgets them.
   */
  async handOver(options: { save: boolean } = { save: true }): Promise<number> {
    try {
      return options.save ? await this.saveSnapshot() : 0;
    } finally {
      this.tracker.restore({ version: SNAPSHOT_VERSION, sessions: [] });
      this.webhookSessions.clear();
    }
  }

  /**
   * A guild appeared on the gateway (the bot's bridge calls this first on every guild
   * available): created under its Discord name, or renamed; its AFK channel kept; the
   * bot marked present. Audited when anything changed.
   */
  async registerGuild(guild: { id: string; name: string; afkChannelId: string | null }): Promise<void> {
    const { id: guildId, name, afkChannelId } = guild;
    await this.locks.run(guildId, () =>
      this.db.$transaction(async (tx) => {
        const existing = await this.guildsRepo.findGuild(guildId, tx);
        if (!existing) {
          await this.guildsRepo.createGuild(tx, {
            id: guildId,
            name,
            afkChannelId,
            botPresent: true,
            periodStartedAt: this.now(),
          });
          await this.audit.record(tx, {
            actor: BOT_ACTOR,
            permission: 'attendance:manage',
            action: 'attendance.guild.register',
            target: { type: 'guild', id: guildId },
            outcome: 'success',
            after: { name, afkChannelId },
          });
        } else if (existing.name !== name || existing.afkChannelId !== afkChannelId || !existing.botPresent) {
          await this.guildsRepo.updateGuild(tx, guildId, { name, afkChannelId, botPresent: true });
          await this.audit.record(tx, {
            actor: BOT_ACTOR,
            permission: 'attendance:manage',
            action: 'attendance.guild.update',
            target: { type: 'guild', id: guildId },
            outcome: 'success',
            before: {
              name: existing.name,
              afkChannelId: existing.afkChannelId,
              botPresent: existing.botPresent,
            },
            after: { name, afkChannelId, botPresent: true },
          });
        }
      }),
    );
  }

  /** The bot left or was removed from the guild (the bridge has closed its sessions). */
  async botRemoved(guildId: string): Promise<void> {
    await this.locks.run(guildId, () =>
      this.db.$transaction(async (tx) => {
        const existing = await this.guildsRepo.findGuild(guildId, tx);
        if (!existing?.botPresent) return;
        await this.guildsRepo.updateGuild(tx, guildId, { botPresent: false });
        await this.audit.record(tx, {
          actor: BOT_ACTOR,
          permission: 'attendance:manage',
          action: 'attendance.guild.bot_remove',
          target: { type: 'guild', id: guildId },
          outcome: 'success',
          before: { botPresent: true },
          after: { botPresent: false },
        });
      }),
    );
  }

  /** Counts one slash command answered in the guild (shown in the overview). */
  async recordCommandUsage(guildId: string, command: string): Promise<void> {
    await this.commandUsageRepo.recordCommandUsage(guildId, command, this.now());
  }

  /**
   * While the bot runs, settings changes go through its bridge (which adds the AFK channel
   * Discord reports); `undefined` again when it stops. When the bridge cannot apply them
   * (it answers undefined) the stored settings are applied directly.
   */
  followSettingsThrough(
    apply: ((guildId: string) => Promise<ClosedSession[] | undefined>) | undefined,
  ): void {
    this.liveSettings = apply;
  }

  /**
   * Discord events delivered without the bot (integration tests seed attendance with
   * this; the bot goes through `AttendanceBridge`, which calls `registerGuild`,
   * `settingsFor`, `applyClosed` and `saveSnapshotOf`): register the guild, apply its
   * settings and reconcile the tracker against the present.
   */
  async onGuildAvailable(
    guildId: string,
    name: string,
    voiceStates: readonly VoiceStateInput[],
    afkChannelId: string | null,
  ): Promise<number> {
    await this.registerGuild({ id: guildId, name, afkChannelId });
    const guild = (await this.guildsRepo.findGuild(guildId))!;
    const nowMs = this.now().getTime();
    this.configured.add(guildId);
    const closed = [
      ...this.tracker.settingsChanged(guildId, trackingSettingsOf(guild), nowMs),
      ...this.tracker.reconcile(guildId, voiceStates, nowMs),
    ];
    return this.applyClosed(closed);
  }

  /** Re-applies a guild's stored settings to the tracker (after a settings change). */
  async settingsChanged(guild: GuildRow, origin: StoreOrigin): Promise<number> {
    this.configured.add(guild.id);
    const closed =
      (await this.liveSettings?.(guild.id)) ??
      this.tracker.settingsChanged(guild.id, trackingSettingsOf(guild), this.now().getTime());
    return this.applyClosed(closed, origin);
  }

  /** One voice-state change delivered without the bot (tests; the bot goes through its bridge). */
  async voiceStateUpdate(
    guildId: string,
    before: VoiceStateInput | null,
    after: VoiceStateInput | null,
  ): Promise<number> {
    const closed = this.tracker.voiceStateUpdate(guildId, before, after, this.now().getTime());
    return this.applyClosed(closed);
  }

  /**
   * One event from the inbound webhook, through the same tracker rules; the caller
   * audits the call itself in the same transaction as the sessions it closed.
   */
  async webhookEvent(
    guildId: string,
    state: VoiceStateInput,
    atMs: number,
    origin: StoreOrigin,
    auditCall: (tx: Tx) => Promise<unknown>,
  ): Promise<{ stored: number; open_session_id: string | null }> {
    const guild = await this.guildsRepo.findGuild(guildId);
    if (!guild) throw notFound('guild');
    const early: CompletedSession[] = [];
    if (!this.configured.has(guildId)) {
      this.configured.add(guildId);
      for (const c of this.tracker.settingsChanged(guildId, trackingSettingsOf(guild), atMs))
        if (!c.discarded) early.push(c.session);
    }
    const closed = this.tracker.voiceStateUpdate(guildId, null, state, atMs);
    const open = this.tracker.openSessions(guildId).find((s) => s.userId === state.userId);
    if (open) this.webhookSessions.add(open.sessionId);
    const sessions = [...early, ...closed.filter((c) => !c.discarded).map((c) => c.session)];
    for (const c of closed) if (c.discarded) this.webhookSessions.delete(c.session.sessionId);
    const published: AttendanceEvent[] = [];
    const stored = await this.locks.run(guildId, () =>
      this.db.$transaction(async (tx) => {
        const count = await this.storeInTx(tx, guildId, sessions, origin, published);
        await auditCall(tx);
        return count;
      }),
    );
    this.events.afterCommit(published);
    return { stored, open_session_id: open?.sessionId ?? null };
  }

  /** Period reset, inside the guild's lock: closes every open session with `reset`. */
  closeForReset(guildId: string, nowMs: number): CompletedSession[] {
    return this.tracker
      .closeAll(guildId, 'reset', nowMs)
      .filter((c) => !c.discarded)
      .map((c) => c.session);
  }

  reopenAfterReset(guildId: string, nowMs: number): number {
    return this.tracker.reopenPresent(guildId, nowMs);
  }
}
