/**
 * What a stored session or period signs: the payload is rebuilt from the row, so a
 * session stored unsigned while the key was locked signs later to exactly the bytes
 * it would have had at once.
 */
import { rankUsers } from '../periods/leaderboard.js';
import {
  type PeriodSnapshotPayload,
  periodSnapshotPayload,
  type SessionReceiptPayload,
  sessionReceiptPayload,
} from './payloads.js';
import { preparePayload } from './records.js';

export interface SessionFields {
  id: string;
  guildId: string;
  userId: string;
  channelId: string;
  startedAt: Date;
  endedAt: Date;
  activeMs: number;
  pausedMs: number;
  outageMs: number;
  closeReason: string;
}

/** Durations are signed as whole seconds, rounded down. */
export const wholeSeconds = (ms: number) => Math.floor(ms / 1000);

export function receiptOf(row: SessionFields): SessionReceiptPayload {
  return sessionReceiptPayload({
    sessionId: row.id,
    guildId: row.guildId,
    userId: row.userId,
    channelId: row.channelId,
    startedAt: row.startedAt,
    endedAt: row.endedAt,
    activeSeconds: wholeSeconds(row.activeMs),
    pausedSeconds: wholeSeconds(row.pausedMs),
    outageSeconds: wholeSeconds(row.outageMs),
    closeReason: row.closeReason,
  });
}

/** The payloadHash a session has, or will have once signed. */
export function receiptHashOf(row: SessionFields & { payloadHash: string | null }): string {
  return row.payloadHash ?? preparePayload(receiptOf(row)).payloadHash;
}

export function periodSnapshotOf(input: {
  guildId: string;
  periodIndex: number;
  startedAt: Date;
  endedAt: Date;
  sessions: readonly (SessionFields & { payloadHash: string | null })[];
}): PeriodSnapshotPayload {
  return periodSnapshotPayload({
    guildId: input.guildId,
    periodIndex: input.periodIndex,
    periodStartedAt: input.startedAt,
    periodEndedAt: Math.max(input.endedAt.getTime(), input.startedAt.getTime()),
    leaderboard: rankUsers(input.sessions).map((s) => ({
      userId: s.userId,
      activeSeconds: wholeSeconds(s.activeMs),
      rank: s.rank,
    })),
    sessionPayloadHashes: input.sessions.map(receiptHashOf),
  });
}
