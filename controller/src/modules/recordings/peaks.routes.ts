/**
 * GET /recordings/:id/peaks: a recording's waveform as min/max peaks per span, computed on the
 * controller from its stored file (once, then cached: peaks.service.ts). A reader of the
 * recording may ask; a recording outside their scope is a 404 like every recording read.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { Data, ErrorResponse } from '../../core/pagination.js';
import { DEFAULT_PEAK_POINTS, MAX_PEAK_POINTS } from './peaks.js';
import type { PeaksService } from './peaks.service.js';
import { RecordingParams } from './recordings.schemas.js';

export const PeaksQuery = Type.Object({
  points: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_PEAK_POINTS,
      default: DEFAULT_PEAK_POINTS,
      description: 'How many spans to divide the recording into (fewer for a very short recording)',
    }),
  ),
});

const Fraction = Type.Number({ minimum: -1, maximum: 1 });

export const RecordingPeaks = Type.Object({
  recordingId: Type.String(),
  points: Type.Integer({ description: 'Spans answered: the length of min and max' }),
  durationMs: Type.Union([Type.Integer(), Type.Null()]),
  sampleRate: Type.Integer(),
  channels: Type.Integer(),
  min: Type.Array(Fraction, {
    description: 'Lowest sample of each span over all channels (−1…1 of full scale)',
  }),
  max: Type.Array(Fraction, {
    description: 'Highest sample of each span over all channels (−1…1 of full scale)',
  }),
});

export function peaksRoutes(peaks: PeaksService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/recordings/:id/peaks',
      {
        config: { access: { user: 'recording:read', scope: 'scoped' } },
        schema: {
          tags: ['recordings'],
          summary: 'Waveform peaks (min/max per span) computed on the controller from the stored file',
          description:
            'For drawing a waveform without downloading the recording. Computed from the whole file the first ' +
            'time (seconds for hours of audio) and cached beside it; later asks read the cache. 409 while the ' +
            'recording has no complete file (and no cached peaks); 422 when its file is not audio sox can decode; ' +
            '503 when the controller lacks sox.',
          params: RecordingParams,
          querystring: PeaksQuery,
          response: {
            200: Data(RecordingPeaks),
            400: ErrorResponse,
            404: ErrorResponse,
            409: ErrorResponse,
            422: ErrorResponse,
            503: ErrorResponse,
          },
        },
      },
      async (request, reply) => {
        const data = await peaks.peaks(
          request.principal,
          request.params.id,
          request.query.points ?? DEFAULT_PEAK_POINTS,
        );
        // The peaks of a completed file never change; a private cache may keep them briefly.
        reply.header('cache-control', 'private, max-age=300');
        return { data };
      },
    );
  };
}
