/**
 * Recording playback sessions. A user with `recording:playback` on a completed recording opens a
 * session (POST …/playback, audited once) and gets a random ticket bound to that recording and
 * to them, valid for PLAYBACK_TICKET_TTL_MS. The ticket is the credential of the recording's
 * stream route (GET …/stream, HTTP Range), presented as a cookie whose Path is that stream (so a
 * browser's `<audio src>` carries it and no token is put in a URL) or as the X-Earshot-Ticket
 * header; it serves any number of range requests until it expires (a browser seeks with many),
 * none of them audited again.
 *
 * Sessions live in this replica's memory (like live listen's), only their tickets' hashes are
 * kept. Each stream request re-checks the session's caller cheaply: while the access generation
 * is unchanged (one small read, as every authenticated request does) and the last full check is
 * recent, the caller stands; otherwise their credential and grants are read again, so a revoked
 * session or token, a disabled user or a withdrawn grant stops the ticket at the next request.
 */
import { randomBytes } from 'node:crypto';
import type { AuditWriter } from '../../core/audit.types.js';
import { AppError, forbidden, unauthenticated } from '../../core/errors.js';
import { actorOf, type CallContext, type Principal, type UserPrincipal } from '../../core/principal.js';
import { hashSecret, newSecret } from '../../crypto/secrets.js';
import { type FileResponse, mediaTypeOf, type RecordingsService } from './recordings.service.js';

/** How long a playback ticket works. */
export const PLAYBACK_TICKET_TTL_MS = 10 * 60_000;
/** Open sessions one user may hold; opening another ends their oldest. */
export const MAX_PLAYBACK_SESSIONS_PER_USER = 20;
/** Even with an unchanged access generation, a caller is read again this often (sign-ins expire). */
export const PLAYBACK_RECHECK_MS = 60_000;
/** The cookie that carries a ticket to its stream (its Path is the stream's). */
export const PLAYBACK_COOKIE = 'earshot_playback';
export const PLAYBACK_TICKET_HEADER = 'x-earshot-ticket';
const TICKET_PREFIX = 'ept_';

interface PlaybackSession {
  id: string;
  recordingId: string;
  principal: UserPrincipal;
  ticketHash: string;
  expiresAtMs: number;
  /** The access generation and time of the last full check of `principal`. */
  checkedGeneration: number;
  checkedAtMs: number;
}

export interface OpenedPlayback {
  sessionId: string;
  ticket: string;
  /** Under /api/v1: the stream the ticket opens (also its cookie's Path). */
  streamUrl: string;
  expiresAt: string;
  contentType: string;
}

export interface PlaybackAccess {
  /** The access generation (the access module's): while it holds, nobody's access changed. */
  generation: { read(): Promise<number> };
  /** The caller as they are now; undefined once their credential is revoked or expired. */
  current(principal: UserPrincipal): Promise<UserPrincipal | undefined>;
}

export interface PlaybackServiceOptions {
  recordings: RecordingsService;
  access: PlaybackAccess;
  audit: Pick<AuditWriter, 'recordAlone'>;
  now: () => Date;
  /** The stream's path (with /api/v1) for a recording. */
  streamPath: (recordingId: string) => string;
}

export class PlaybackService {
  /** By ticket hash. */
  private readonly sessions = new Map<string, PlaybackSession>();

  constructor(private readonly options: PlaybackServiceOptions) {}

  private nowMs(): number {
    return this.options.now().getTime();
  }

  /** Opens a playback session on a completed recording the caller may play (audited here, once). */
  async open(ctx: CallContext, recordingId: string): Promise<OpenedPlayback> {
    const user = userOf(ctx.principal);
    const { recordings, access } = this.options;
    const recording = await recordings.visibleRecording(user, 'recording:playback', recordingId);
    const { size } = await recordings.completeFileSize(recording);
    const generation = await access.generation.read();
    const nowMs = this.nowMs();
    this.prune(nowMs, user.userId);
    const ticket = newSecret(TICKET_PREFIX);
    const session: PlaybackSession = {
      id: `ps_${randomBytes(9).toString('base64url')}`,
      recordingId,
      principal: user,
      ticketHash: hashSecret(ticket),
      expiresAtMs: nowMs + PLAYBACK_TICKET_TTL_MS,
      checkedGeneration: generation,
      checkedAtMs: nowMs,
    };
    const expiresAt = new Date(session.expiresAtMs).toISOString();
    await this.options.audit.recordAlone({
      actor: actorOf(user),
      permission: 'recording:playback',
      action: 'recording.playback',
      target: { type: 'recording', id: recordingId },
      outcome: 'success',
      after: { sessionId: session.id, expiresAt, sizeBytes: size },
      context: ctx.request,
    });
    this.sessions.set(session.ticketHash, session);
    return {
      sessionId: session.id,
      ticket,
      streamUrl: this.options.streamPath(recordingId),
      expiresAt,
      contentType: mediaTypeOf(recording),
    };
  }

  /**
   * The recording's bytes (one range of them) for a ticket of a session on it: 401 without a
   * ticket or with an unknown or expired one, 403 with one for another recording, 401/404 once
   * the session's caller lost their sign-in or their access to the recording.
   */
  async stream(
    ticket: string | undefined,
    recordingId: string,
    rangeHeader: string | undefined,
  ): Promise<FileResponse> {
    const target = { type: 'recording', id: recordingId };
    if (!ticket)
      throw unauthenticated(
        `Open a playback session first: POST /api/v1/recordings/${recordingId}/playback, then GET its ` +
          `streamUrl with the cookie it sets or its ticket in the X-Earshot-Ticket header.`,
      );
    const hash = hashSecret(ticket);
    const session = this.sessions.get(hash);
    if (!session || this.nowMs() >= session.expiresAtMs) {
      this.sessions.delete(hash);
      throw unauthenticated(
        `The playback ticket is unknown or expired: open a new session (POST /api/v1/recordings/${recordingId}/playback).`,
      ).deny({ permission: 'recording:playback', reason: 'playback ticket unknown or expired', target });
    }
    const actor = actorOf(session.principal);
    if (session.recordingId !== recordingId)
      throw forbidden('This playback ticket is for another recording: open a session on this one.', {
        permission: 'recording:playback',
        reason: `playback ticket of session ${session.id} presented for another recording`,
        target,
        actor,
      });
    const principal = await this.currentCaller(session);
    const { recordings } = this.options;
    try {
      const recording = await recordings.visibleRecording(principal, 'recording:playback', recordingId);
      return await recordings.serveFile(recording, rangeHeader, 'inline');
    } catch (error) {
      // Refused with what the session's caller can do now: the denial names them, not "anonymous".
      if (error instanceof AppError && error.denial) {
        this.sessions.delete(hash);
        error.deny({ actor, reason: `${error.denial.reason} (playback session ${session.id})` });
      }
      throw error;
    }
  }

  /** The session's caller as they are now (read again when access may have changed). */
  private async currentCaller(session: PlaybackSession): Promise<UserPrincipal> {
    const generation = await this.options.access.generation.read();
    const nowMs = this.nowMs();
    if (generation === session.checkedGeneration && nowMs - session.checkedAtMs < PLAYBACK_RECHECK_MS)
      return session.principal;
    const current = await this.options.access.current(session.principal);
    if (!current) {
      this.sessions.delete(session.ticketHash);
      throw unauthenticated(
        'The sign-in that opened this playback session has ended (signed out, revoked, expired or ' +
          'the user disabled): sign in and open a new session.',
      ).deny({
        permission: 'recording:playback',
        reason: `playback session ${session.id}: its caller's sign-in ended`,
        target: { type: 'recording', id: session.recordingId },
        actor: actorOf(session.principal),
      });
    }
    session.principal = current;
    session.checkedGeneration = generation;
    session.checkedAtMs = nowMs;
    return current;
  }

  /** Drops expired sessions, and the user's oldest beyond their cap (one is about to open). */
  private prune(nowMs: number, userId: string): void {
    const own: PlaybackSession[] = [];
    for (const [hash, session] of this.sessions) {
      if (nowMs >= session.expiresAtMs) this.sessions.delete(hash);
      else if (session.principal.userId === userId) own.push(session);
    }
    // Map order is insertion order: the first are the oldest.
    for (const session of own.slice(0, Math.max(0, own.length - MAX_PLAYBACK_SESSIONS_PER_USER + 1)))
      this.sessions.delete(session.ticketHash);
  }
}

function userOf(principal: Principal): UserPrincipal {
  if (principal.kind !== 'user') throw forbidden('Recording playback is for users.');
  return principal;
}
