/**
 * The inbound attendance webhook: voice-state events from sources other
 * than Discord, authenticated by a shared secret (constant-time compare), fed through
 * the same tracker rules as gateway events; a `display_name` sent with an event is kept as the
 * member's name (in the event's transaction), as a gateway voice state's is. No secret
 * configured → 404 (the webhook is off, as if absent; a 503 would read as an outage to fuzzers
 * and monitors alike).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ERROR_CODES } from '../../../../../shared/src/errors.js';
import type { AuditWriter, RequestContext } from '../../../core/audit.types.js';
import { AppError, unauthenticated } from '../../../core/errors.js';
import type { MemberNamesService } from '../members/member-names.service.js';
import type { AttendanceService } from './sessions.service.js';

/** An event older than this cannot be placed in the tracker's timeline any more. */
const MAX_EVENT_AGE_MS = 300_000;

export interface WebhookEventInput {
  guild_id: string;
  user_id: string;
  channel_id: string | null;
  self_mute?: boolean;
  server_mute?: boolean;
  self_deaf?: boolean;
  server_deaf?: boolean;
  is_bot?: boolean;
  display_name?: string;
  at?: string;
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export class AttendanceWebhookService {
  private readonly sessions: AttendanceService;
  private readonly audit: AuditWriter;
  private readonly members: Pick<MemberNamesService, 'keepIn'>;
  private readonly secret: string | undefined;
  private readonly now: () => Date;

  constructor(options: {
    sessions: AttendanceService;
    audit: AuditWriter;
    members: Pick<MemberNamesService, 'keepIn'>;
    /** The shared secret; undefined: the webhook is off. */
    secret: string | undefined;
    now?: () => Date;
  }) {
    this.sessions = options.sessions;
    this.audit = options.audit;
    this.members = options.members;
    this.secret = options.secret;
    this.now = options.now ?? (() => new Date());
  }

  async receive(presented: string | undefined, event: WebhookEventInput, context: RequestContext) {
    if (!this.secret)
      throw new AppError(
        404,
        ERROR_CODES.notFound,
        'The attendance webhook is off: set EARSHOT_ATTENDANCE_WEBHOOK_SECRET to enable it.',
      );
    // Equal-length digests, so the comparison time says nothing about the secret.
    if (presented === undefined || !timingSafeEqual(digest(presented), digest(this.secret))) {
      await this.audit.recordAlone({
        actor: { type: 'anonymous', id: null, name: 'attendance-webhook' },
        action: 'attendance.webhook.voice_state_receive',
        target: { type: 'guild', id: event.guild_id },
        outcome: 'denied',
        reason: presented === undefined ? 'missing secret' : 'wrong secret',
        context,
      });
      throw unauthenticated('Send the shared secret in the x-webhook-secret header.');
    }
    const nowMs = this.now().getTime();
    const atMs = event.at === undefined ? nowMs : Math.min(Date.parse(event.at), nowMs);
    if (nowMs - atMs > MAX_EVENT_AGE_MS)
      throw new AppError(
        422,
        ERROR_CODES.unprocessable,
        'The event is older than 5 minutes; send events as they happen.',
      );
    const actor = { type: 'system' as const, id: null, name: 'attendance-webhook' };
    return this.sessions.webhookEvent(
      event.guild_id,
      {
        userId: event.user_id,
        channelId: event.channel_id,
        selfMute: event.self_mute ?? false,
        serverMute: event.server_mute ?? false,
        selfDeaf: event.self_deaf ?? false,
        serverDeaf: event.server_deaf ?? false,
        isBot: event.is_bot ?? false,
      },
      atMs,
      { actor, context },
      async (tx) => {
        await this.members.keepIn(tx, event.guild_id, {
          userId: event.user_id,
          displayName: event.display_name,
        });
        await this.audit.record(tx, {
          actor,
          permission: 'attendance:manage',
          action: 'attendance.webhook.voice_state_receive',
          target: { type: 'guild', id: event.guild_id },
          outcome: 'success',
          after: { userId: event.user_id, channelId: event.channel_id, at: new Date(atMs).toISOString() },
          context,
        });
      },
    );
  }
}
