import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { notFound } from '../../http/errors.js';
import {
  clampLimit,
  Data,
  decodeCursor,
  ErrorResponse,
  encodeCursor,
  PageOf,
  PageQuery,
  pageOf,
} from '../../http/pagination.js';
import type { AuditRow } from './audit.repository.js';
import type { AuditService } from './audit.service.js';

const AuditEventSchema = Type.Object({
  id: Type.String(),
  seq: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  actor: Type.Object({
    type: Type.String(),
    id: Type.Union([Type.String(), Type.Null()]),
    name: Type.Union([Type.String(), Type.Null()]),
  }),
  permission: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  target: Type.Object({
    type: Type.Union([Type.String(), Type.Null()]),
    id: Type.Union([Type.String(), Type.Null()]),
  }),
  outcome: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  requestId: Type.Union([Type.String(), Type.Null()]),
  sourceIp: Type.Union([Type.String(), Type.Null()]),
  prevHash: Type.String(),
  hash: Type.String(),
});
const AuditDetailSchema = Type.Intersect([
  AuditEventSchema,
  Type.Object({ before: Type.Unknown(), after: Type.Unknown() }),
]);

const short = Type.String({ minLength: 1, maxLength: 200 });
const AuditQuery = Type.Object(
  {
    ...PageQuery,
    actorId: Type.Optional(short),
    action: Type.Optional(short),
    targetType: Type.Optional(short),
    targetId: Type.Optional(short),
    outcome: Type.Optional(Type.Enum(['success', 'denied', 'failure'])),
    permission: Type.Optional(short),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

function present(row: AuditRow) {
  return {
    id: row.id,
    seq: row.seq,
    at: row.at.toISOString(),
    actor: { type: row.actorType, id: row.actorId, name: row.actorName },
    permission: row.permission,
    action: row.action,
    target: { type: row.targetType, id: row.targetId },
    outcome: row.outcome,
    reason: row.reason,
    requestId: row.requestId,
    sourceIp: row.sourceIp,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}

const parseJson = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

export function auditRoutes(audit: AuditService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/audit-events',
      {
        config: { access: { user: 'audit:read' } },
        schema: {
          tags: ['audit'],
          summary: 'List and filter audit events, newest first',
          querystring: AuditQuery,
          response: { 200: PageOf(AuditEventSchema), 400: ErrorResponse },
        },
      },
      async (request) => {
        const { cursor, limit, from, to, ...filter } = request.query;
        const take = clampLimit(limit);
        const rows = await audit.list(
          { ...filter, from: from ? new Date(from) : undefined, to: to ? new Date(to) : undefined },
          take,
          decodeCursor<number>(cursor, 'number'),
        );
        return pageOf(rows, take, present, (row) => encodeCursor(row.seq));
      },
    );

    app.get(
      '/audit-events/verify',
      {
        config: { access: { user: 'audit:read' } },
        schema: {
          tags: ['audit'],
          summary: 'Walk the hash chain and report the first broken link',
          response: {
            200: Data(
              Type.Object({
                ok: Type.Boolean(),
                checked: Type.Integer(),
                brokenAt: Type.Optional(
                  Type.Object({ seq: Type.Integer(), id: Type.String(), reason: Type.String() }),
                ),
              }),
            ),
          },
        },
      },
      async () => ({ data: await audit.verifyChain() }),
    );

    app.get(
      '/audit-events/:id',
      {
        config: { access: { user: 'audit:read' } },
        schema: {
          tags: ['audit'],
          summary: 'One audit event with before/after',
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          response: { 200: Data(AuditDetailSchema), 404: ErrorResponse },
        },
      },
      async (request) => {
        const row = await audit.get(request.params.id);
        if (!row) throw notFound('audit event');
        return { data: { ...present(row), before: parseJson(row.before), after: parseJson(row.after) } };
      },
    );
  };
}
