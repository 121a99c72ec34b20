/**
 * Time accounting of one open session (rules 4 and 6 in `voice-tracker.ts`). A session
 * is accounted lazily: `activeMs` / `pausedMs` hold the time up to `accountedToMs`, and
 * the stretch after it belongs to the current state (counting when `pausedSinceMs` is
 * null). Nothing here reads a clock.
 */
import type { CloseReason, CompletedSession, OpenSession } from './tracker.types.js';

/** An open session in memory: its persisted fields plus accounting bookkeeping. */
export interface SessionRecord {
  readonly sessionId: string;
  readonly guildId: string;
  readonly userId: string;
  readonly channelId: string;
  readonly startedAtMs: number;
  readonly stayStartedAtMs: number;
  activeMs: number;
  pausedMs: number;
  outageMs: number;
  pausedSinceMs: number | null;
  /** activeMs and pausedMs include the time up to here. */
  accountedToMs: number;
  /** Set for a session restored from a snapshot and not seen since: its last observation. */
  blindSinceMs: number | null;
}

export function openRecord(
  ids: { sessionId: string; guildId: string; userId: string; channelId: string },
  nowMs: number,
  stayStartedAtMs: number,
  paused: boolean,
): SessionRecord {
  // One literal, one hidden class: a spread here makes V8 build slow dictionary objects.
  return {
    sessionId: ids.sessionId,
    guildId: ids.guildId,
    userId: ids.userId,
    channelId: ids.channelId,
    startedAtMs: nowMs,
    stayStartedAtMs: Math.min(stayStartedAtMs, nowMs),
    activeMs: 0,
    pausedMs: 0,
    outageMs: 0,
    pausedSinceMs: paused ? nowMs : null,
    accountedToMs: nowMs,
    blindSinceMs: null,
  };
}

/** Accounts the stretch up to `toMs` under the current state; never runs backwards. */
export function advance(record: SessionRecord, toMs: number): void {
  const elapsed = toMs - record.accountedToMs;
  if (elapsed <= 0) return;
  if (record.pausedSinceMs === null) record.activeMs += elapsed;
  else record.pausedMs += elapsed;
  record.accountedToMs = toMs;
}

export function setPaused(record: SessionRecord, paused: boolean, nowMs: number): void {
  if (paused === (record.pausedSinceMs !== null)) return;
  advance(record, nowMs);
  record.pausedSinceMs = paused ? Math.max(nowMs, record.accountedToMs) : null;
}

/** Rule 6, member still there: credit up to `maxCreditMs` of the gap, record all of it. */
export function resumeAfterOutage(
  record: SessionRecord,
  lastObservedAtMs: number,
  nowMs: number,
  maxCreditMs: number,
): void {
  advance(record, lastObservedAtMs);
  const gapMs = Math.max(0, nowMs - record.accountedToMs);
  const creditMs = Math.min(gapMs, maxCreditMs);
  if (record.pausedSinceMs === null) record.activeMs += creditMs;
  else record.pausedMs += creditMs;
  record.outageMs += gapMs;
  record.accountedToMs += gapMs;
  record.blindSinceMs = null;
}

/** Rule 6, member gone or moved: the session ends at last observation + credit. */
export function endAfterOutage(
  record: SessionRecord,
  lastObservedAtMs: number,
  nowMs: number,
  maxCreditMs: number,
): number {
  advance(record, lastObservedAtMs);
  const creditMs = Math.min(Math.max(0, nowMs - record.accountedToMs), maxCreditMs);
  advance(record, record.accountedToMs + creditMs);
  record.outageMs += creditMs;
  record.blindSinceMs = null;
  return record.accountedToMs;
}

export function completeRecord(
  record: SessionRecord,
  endedAtMs: number,
  reason: CloseReason,
): CompletedSession {
  advance(record, endedAtMs);
  return {
    sessionId: record.sessionId,
    guildId: record.guildId,
    userId: record.userId,
    channelId: record.channelId,
    startedAtMs: record.startedAtMs,
    endedAtMs: Math.max(endedAtMs, record.accountedToMs),
    activeMs: record.activeMs,
    pausedMs: record.pausedMs,
    outageMs: record.outageMs,
    closeReason: reason,
  };
}

/** The session as it stands at `atMs` (not before its accounted time), without changing it. */
export function viewAt(record: SessionRecord, atMs: number): OpenSession {
  const at = Math.max(atMs, record.accountedToMs);
  const elapsed = at - record.accountedToMs;
  const counting = record.pausedSinceMs === null;
  return {
    sessionId: record.sessionId,
    guildId: record.guildId,
    userId: record.userId,
    channelId: record.channelId,
    startedAtMs: record.startedAtMs,
    stayStartedAtMs: record.stayStartedAtMs,
    activeMs: record.activeMs + (counting ? elapsed : 0),
    pausedMs: record.pausedMs + (counting ? 0 : elapsed),
    outageMs: record.outageMs,
    pausedSinceMs: record.pausedSinceMs,
    lastObservedAtMs: at,
  };
}

/** A persisted session comes back unobserved: accounted to, and blind since, its last observation. */
export function recordFromSnapshot(session: OpenSession): SessionRecord {
  return {
    sessionId: session.sessionId,
    guildId: session.guildId,
    userId: session.userId,
    channelId: session.channelId,
    startedAtMs: session.startedAtMs,
    stayStartedAtMs: session.stayStartedAtMs,
    activeMs: session.activeMs,
    pausedMs: session.pausedMs,
    outageMs: session.outageMs,
    pausedSinceMs: session.pausedSinceMs,
    accountedToMs: session.lastObservedAtMs,
    blindSinceMs: session.lastObservedAtMs,
  };
}
