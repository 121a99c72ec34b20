/**
 * `POST /settings/watchdog-policies/:id/calibrate`: a watchdog policy proposed from a node's live
 * meters. settings:manage over the fleet like every settings action, and the node must be one the
 * caller may read. Served by the meters module, where the live frames are.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { NODE_ID_PATTERN } from '../../../../shared/src/ids.js';
import { Data, ErrorResponse } from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import type { CalibrationService } from './calibration.service.js';

const CalibrateBody = Type.Object(
  {
    nodeId: Type.String({ pattern: NODE_ID_PATTERN, description: 'The node whose live meters to listen to' }),
    windowSeconds: Type.Optional(
      Type.Integer({ minimum: 5, maximum: 300, default: 30, description: 'How long to listen' }),
    ),
  },
  { additionalProperties: false },
);

const Level = Type.Number({ description: 'dBFS' });
const CalibrationResult = Type.Object({
  policy: Type.Object({ id: Type.String(), name: Type.String(), revision: Type.Integer() }),
  nodeId: Type.String(),
  windowSeconds: Type.Integer(),
  current: Type.Record(Type.String(), Type.Unknown(), { description: 'The policy body now' }),
  proposed: Type.Object(
    { silenceDbfs: Level, clipCountPerWindow: Type.Integer() },
    {
      additionalProperties: true,
      description:
        'The policy body calibration proposes (PATCH it to apply): the current one with these fields',
    },
  ),
  statistics: Type.Object({
    frames: Type.Integer(),
    channels: Type.Integer(),
    coveredSeconds: Type.Number(),
    rmsDbfs: Type.Object({ min: Level, p10: Level, p50: Level, p90: Level, max: Level }),
    peakDbfs: Type.Object({ max: Level }),
    clips: Type.Object({ total: Type.Integer(), perSecond: Type.Number() }),
  }),
  notes: Type.Array(Type.String()),
});

export function calibrationRoutes(calibration: CalibrationService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/settings/watchdog-policies/:id/calibrate',
      {
        config: { access: { user: 'settings:manage', scope: 'fleet' } },
        schema: {
          tags: ['settings'],
          summary: 'Propose watchdog levels from a node’s live meters over a window (changes nothing)',
          params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
          body: CalibrateBody,
          response: { 200: Data(CalibrationResult), 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request) => ({
        data: await calibration.calibrate(request.params.id, request.body, callContext(request)),
      }),
    );
  };
}
