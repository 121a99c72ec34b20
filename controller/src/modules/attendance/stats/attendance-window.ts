/**
 * Who attended one voice channel during a window (a recording's, for the recording context):
 * the completed sessions there that overlap the window, each with its signed session receipt
 * as stored (the exact signed bytes, key id, payload hash and signature), checked against the
 * guild's published keys, and those keys, so a reader can verify every receipt offline.
 *
 * Attendance belongs to the guild, not to the recording: a caller sees the sessions only with
 * `attendance:read` over that guild (or the fleet); otherwise the answer says so and lists none.
 * Sessions still open have no receipt yet and are not listed.
 */
import type { Principal } from '../../../core/principal.js';
import type { GuildsRepository } from '../guilds/guilds.repository.js';
import type { MemberNamesService } from '../members/member-names.service.js';
import type { PublishedKey } from '../signing/key-ring.js';
import { receiptHashOf, wholeSeconds } from '../signing/session-receipts.js';
import type { AttendanceSigningService, Verification } from '../signing/signing.service.js';
import type { SessionsRepository, VoiceSession } from '../tracking/sessions.repository.js';

/** At most this many sessions are listed for one window (`truncated` says when there were more). */
export const WINDOW_SESSION_LIMIT = 500;

export interface SessionReceipt {
  /** RFC 8785 canonical JSON of the receipt payload: the exact text that was signed. */
  signedBytes: string;
  keyId: string;
  payloadHash: string;
  /** base64url Ed25519 signature of UTF-8(signedBytes). */
  signature: string;
  signedAt: string | null;
}

export interface AttendedSession {
  id: string;
  userId: string;
  /** The member's name as last seen in voice; null if never seen with one. Not signed. */
  displayName: string | null;
  startedAt: string;
  endedAt: string;
  activeSeconds: number;
  pausedSeconds: number;
  outageSeconds: number;
  closeReason: string;
  source: string;
  /** The receipt's payload hash: what the period snapshot binds, known even before signing. */
  payloadHash: string;
  /** Null while the guild's key was locked when it closed (signed at the next unlock). */
  receipt: SessionReceipt | null;
  verification: Verification;
}

export interface ChannelAttendance {
  guildId: string;
  channelId: string;
  /** Null when no guild by that id is registered. */
  guildName: string | null;
  /** False when the caller may not read this guild's attendance (`reason` says why). */
  visible: boolean;
  reason: string | null;
  sessions: AttendedSession[];
  truncated: boolean;
  /** The guild's published keys (active and retired); null when hidden. */
  keys: { algorithm: 'Ed25519'; active: PublishedKey | null; retired: PublishedKey[] } | null;
}

/** `attendanceInWindow(principal, guildId, channelId, window)`: the attendance module's port. */
export type AttendanceInWindow = (
  principal: Principal,
  guildId: string,
  channelId: string,
  window: { from: Date; to: Date },
) => Promise<ChannelAttendance>;

function receiptOfRow(row: VoiceSession): SessionReceipt | null {
  if (!row.signedBytes || !row.signature || !row.keyId || !row.payloadHash) return null;
  return {
    signedBytes: row.signedBytes,
    keyId: row.keyId,
    payloadHash: row.payloadHash,
    signature: row.signature,
    signedAt: row.signedAt?.toISOString() ?? null,
  };
}

export class AttendanceWindowReader {
  constructor(
    private readonly guildsRepo: GuildsRepository,
    private readonly sessionsRepo: SessionsRepository,
    private readonly signing: AttendanceSigningService,
    private readonly members: Pick<MemberNamesService, 'namesOf'>,
  ) {}

  async inWindow(
    principal: Principal,
    guildId: string,
    channelId: string,
    window: { from: Date; to: Date },
  ): Promise<ChannelAttendance> {
    const base = { guildId, channelId, sessions: [], truncated: false, keys: null };
    if (!(principal.kind === 'user' && principal.access.allows('attendance:read', { guildId })))
      return {
        ...base,
        guildName: null,
        visible: false,
        reason: `Who attended is attendance data of guild ${guildId}: it needs attendance:read over that guild.`,
      };
    const guild = await this.guildsRepo.findGuild(guildId);
    if (!guild)
      return { ...base, guildName: null, visible: true, reason: 'No guild by this id is registered.' };
    const rows = await this.sessionsRepo.channelSessionsOverlapping(
      guildId,
      channelId,
      window,
      WINDOW_SESSION_LIMIT + 1,
    );
    const listed = rows.slice(0, WINDOW_SESSION_LIMIT);
    const ring = await this.signing.keyRing(guildId);
    const names = await this.members.namesOf(
      guildId,
      listed.map((row) => row.userId),
    );
    const sessions: AttendedSession[] = [];
    for (const row of listed)
      sessions.push({
        id: row.id,
        userId: row.userId,
        displayName: names.get(row.userId) ?? null,
        startedAt: row.startedAt.toISOString(),
        endedAt: row.endedAt.toISOString(),
        activeSeconds: wholeSeconds(row.activeMs),
        pausedSeconds: wholeSeconds(row.pausedMs),
        outageSeconds: wholeSeconds(row.outageMs),
        closeReason: row.closeReason,
        source: row.source,
        payloadHash: receiptHashOf(row),
        receipt: receiptOfRow(row),
        verification: await this.signing.verifySession(row, ring),
      });
    return {
      guildId,
      channelId,
      guildName: guild.name,
      visible: true,
      reason: null,
      sessions,
      truncated: rows.length > WINDOW_SESSION_LIMIT,
      keys: { algorithm: 'Ed25519', active: ring.active ?? null, retired: [...ring.retired] },
    };
  }
}
