/**
 * Recording playback: open a session (a ticket, audited once) and stream the recording with
 * it. The stream is public at the HTTP layer: the ticket it presents, as the path-scoped cookie
 * the POST sets or the X-Earshot-Ticket header, is its credential (never a session token or an
 * API token in a URL).
 */
import type {} from '@fastify/cookie';
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '../../config.js';
import { Data, ErrorResponse } from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import { OpenedPlayback, StreamHeaders } from './playback.schemas.js';
import {
  PLAYBACK_COOKIE,
  PLAYBACK_TICKET_HEADER,
  PLAYBACK_TICKET_TTL_MS,
  type PlaybackService,
} from './playback.service.js';
import { AudioFile, RecordingParams } from './recordings.schemas.js';

/** The stream's path under /api/v1 (a ticket opens its own recording's stream only). */
export const playbackStreamPath = (recordingId: string) =>
  `/recordings/${encodeURIComponent(recordingId)}/stream`;

export function playbackRoutes(
  playback: PlaybackService,
  config: Pick<Config, 'cookieSecure'>,
): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/recordings/:id/playback',
      {
        config: { access: { user: 'recording:playback', scope: 'scoped' } },
        schema: {
          tags: ['recordings'],
          summary: 'Open a playback session on a completed recording (a short-lived stream ticket)',
          description:
            `Answers 201 with a ticket valid for ${PLAYBACK_TICKET_TTL_MS / 60_000} min, bound to this recording ` +
            'and to you, and sets it as an HttpOnly, SameSite=Strict cookie whose Path is the streamUrl, so ' +
            'a browser plays `<audio src="{streamUrl}">` with no token in the URL; other clients send it in ' +
            'the X-Earshot-Ticket header. Audited once here, not per range request. 409 while the ' +
            "recording's file is not complete.",
          params: RecordingParams,
          response: { 201: Data(OpenedPlayback), 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request, reply) => {
        const opened = await playback.open(callContext(request), request.params.id);
        reply.setCookie(PLAYBACK_COOKIE, opened.ticket, {
          httpOnly: true,
          sameSite: 'strict',
          secure: config.cookieSecure,
          path: opened.streamUrl,
          expires: new Date(opened.expiresAt),
        });
        return reply.status(201).send({ data: opened });
      },
    );

    app.get(
      '/recordings/:id/stream',
      {
        config: { access: { public: true } },
        schema: {
          tags: ['recordings'],
          summary: "Stream a recording with a playback session's ticket; one HTTP Range gives 206",
          description:
            'The credential is the ticket from POST /api/v1/recordings/{id}/playback (the same recording): ' +
            'the cookie it sets, or the X-Earshot-Ticket header. Usable for any number of range requests ' +
            "until it expires; it stops working when its user's sign-in or access to the recording ends. " +
            'Content type audio/wav or audio/flac; Accept-Ranges: bytes.',
          params: RecordingParams,
          headers: StreamHeaders,
          response: {
            200: AudioFile,
            206: AudioFile,
            401: ErrorResponse,
            403: ErrorResponse,
            404: ErrorResponse,
            409: ErrorResponse,
            416: ErrorResponse,
          },
        },
      },
      async (request, reply) => {
        const ticket = request.headers[PLAYBACK_TICKET_HEADER] ?? request.cookies?.[PLAYBACK_COOKIE];
        const file = await playback.stream(ticket, request.params.id, request.headers.range);
        return reply
          .status(file.statusCode)
          .headers({ ...file.headers, 'cache-control': 'private, no-cache' })
          .send(file.stream);
      },
    );
  };
}
