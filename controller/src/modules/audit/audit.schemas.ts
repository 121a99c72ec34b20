/** Audit route contracts: events, filters, facets and exports. */

import type { Readable } from 'node:stream';
import Type, { type Static, type TSchema } from 'typebox';
import type { ScopeFilter } from '../../core/access-set.js';
import { FacetCounts } from '../../core/facets.js';
import { PageQuery } from '../../core/pagination.js';
import type { AuditFilter, AuditRow } from './audit.repository.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const AuditEventSchema = Type.Object({
  id: Type.String(),
  seq: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  actor: Type.Object({
    type: Type.String(),
    id: Nullable(Type.String()),
    name: Nullable(Type.String()),
  }),
  permission: Nullable(Type.String()),
  action: Type.String(),
  target: Type.Object({
    type: Nullable(Type.String()),
    id: Nullable(Type.String()),
  }),
  outcome: Type.String(),
  reason: Nullable(Type.String()),
  requestId: Nullable(Type.String()),
  sourceIp: Nullable(Type.String()),
  prevHash: Type.String(),
  hash: Type.String(),
});

export const AuditDetailSchema = Type.Intersect([
  AuditEventSchema,
  Type.Object({ before: Type.Unknown(), after: Type.Unknown() }),
]);

export const ChainReportSchema = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer(),
  brokenAt: Type.Optional(Type.Object({ seq: Type.Integer(), id: Type.String(), reason: Type.String() })),
});

export const AuditIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

const short = Type.String({ minLength: 1, maxLength: 200 });

/** The filters shared by the list, facets and filtered export. */
const AuditFilterFields = {
  actorId: Type.Optional(short),
  actorType: Type.Optional(Type.Enum(['user', 'node', 'system', 'anonymous', 'discord'])),
  actorName: Type.Optional(short),
  action: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description:
        'Exact action, or a prefix ending in `*` (e.g. `auth.*`); a renamed action matches under its old and new names',
    }),
  ),
  targetType: Type.Optional(short),
  targetId: Type.Optional(short),
  outcome: Type.Optional(Type.Enum(['success', 'denied', 'failure'])),
  permission: Type.Optional(short),
  requestId: Type.Optional(short),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive lower bound on `at`' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive upper bound on `at`' })),
};

export const AuditQuery = Type.Object(
  { ...PageQuery, ...AuditFilterFields },
  { additionalProperties: false },
);
export const AuditFacetsQuery = Type.Object(AuditFilterFields, { additionalProperties: false });
export type AuditFilterQuery = Static<typeof AuditFacetsQuery>;

export const ExportFormat = Type.Enum(['csv', 'ndjson'], { default: 'ndjson' });
export type ExportFormat = Static<typeof ExportFormat>;

export const AuditExportQuery = Type.Object(
  { ...AuditFilterFields, format: Type.Optional(ExportFormat) },
  { additionalProperties: false },
);

/** Selected events; ids that do not exist are left out of the file. */
export const AuditExportBody = Type.Object(
  {
    ids: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 5000 }),
    format: Type.Optional(ExportFormat),
  },
  { additionalProperties: false },
);

const Counts = FacetCounts(Nullable(Type.String()));
export const AuditFacetsSchema = Type.Object({
  total: Type.Integer(),
  action: Counts,
  outcome: Counts,
  actorType: Counts,
  permission: Counts,
  targetType: Counts,
});

/** A streamed export body (the serializer leaves streams alone). */
export const ExportFile = Type.Unsafe<Readable>({
  type: 'string',
  description: 'text/csv (with a header row) or application/x-ndjson (one event per line)',
});

/** An audit row's public shape (the list, the detail and the NDJSON export). */
export function presentAuditEvent(row: AuditRow) {
  return {
    seq: row.seq,
    id: row.id,
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

/** The event with its `before` and `after` JSON parsed, placed before the hashes as in the NDJSON export. */
export function presentAuditDetail(row: AuditRow) {
  const { prevHash, hash, ...event } = presentAuditEvent(row);
  return { ...event, before: parseJson(row.before), after: parseJson(row.after), prevHash, hash };
}

/** Query filters → repository filter: dates parsed, `prefix*` actions as a prefix match. */
export function toAuditFilter(query: AuditFilterQuery, scope: ScopeFilter): AuditFilter {
  const { from, to, action, ...rest } = query;
  const prefix = action?.endsWith('*') ? action.slice(0, -1) : undefined;
  return {
    ...rest,
    scope,
    action: prefix === undefined ? action : undefined,
    actionPrefix: prefix || undefined,
    from: from ? new Date(from) : undefined,
    to: to ? new Date(to) : undefined,
  };
}
