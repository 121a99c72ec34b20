/** TypeBox schemas of channel-map assignments and staged plans (validation, responses, OpenAPI). */
import Type, { type Static } from 'typebox';
import { AllowedAction, PageQuery } from '../../core/pagination.js';
import { NodeId } from '../nodes/index.js';

const DateTime = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);
const Reason = Type.String({ minLength: 1, maxLength: 500, description: 'Why (kept in the history)' });
const TemplateId = Type.String({ format: 'uuid', description: 'A channel-map template' });
const Interface = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'The audio interface’s device reference; null or left out: the node’s capture',
});

export const AssignmentParams = Type.Object({ nodeId: NodeId });
export const PlanParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

/** A template to assign (null clears the node's channel map). */
const Target = {
  templateId: Nullable(TemplateId),
  interface: Type.Optional(Nullable(Interface)),
};

export const PutAssignmentBody = Type.Object(
  { ...Target, reason: Type.Optional(Reason) },
  { additionalProperties: false },
);
export type PutAssignmentBody = Static<typeof PutAssignmentBody>;

export const AssignmentItem = Type.Object({ nodeId: NodeId, ...Target }, { additionalProperties: false });
export type AssignmentItem = Static<typeof AssignmentItem>;

const Items = Type.Array(AssignmentItem, { minItems: 1, maxItems: 200 });

export const BulkAssignmentBody = Type.Object(
  { items: Items, reason: Type.Optional(Reason) },
  { additionalProperties: false },
);

export const RollbackAssignmentBody = Type.Object(
  { revision: Type.Integer({ minimum: 1 }), reason: Type.Optional(Reason) },
  { additionalProperties: false },
);

export const AssignmentListQuery = Type.Object(
  { ...PageQuery, nodeId: Type.Optional(NodeId), templateId: Type.Optional(TemplateId) },
  { additionalProperties: false },
);

const TemplateRef = Type.Object({
  id: Type.String(),
  name: Nullable(Type.String({ description: 'null when the template was deleted' })),
});

export const Assignment = Type.Object({
  nodeId: Type.String(),
  template: Nullable(TemplateRef),
  interface: Nullable(Type.String()),
  revision: Type.Integer({ description: 'The assignment’s current revision' }),
  updatedAt: DateTime,
});

const State = Type.Object({ templateId: Nullable(Type.String()), interface: Nullable(Type.String()) });

export const AssignmentHistoryEntry = Type.Object({
  revision: Type.Integer(),
  action: Type.Enum(['create', 'update', 'rollback', 'delete']),
  at: DateTime,
  actor: Type.Object({ id: Nullable(Type.String()), name: Nullable(Type.String()) }),
  reason: Nullable(Type.String()),
  before: Nullable(State),
  after: State,
});

export const StagePlanBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' }),
    reason: Type.Optional(Reason),
    items: Items,
  },
  { additionalProperties: false },
);
export type StagePlanBody = Static<typeof StagePlanBody>;

export const PlanListQuery = Type.Object(
  { ...PageQuery, state: Type.Optional(Type.Enum(['staged', 'applied', 'discarded'])) },
  { additionalProperties: false },
);

const Side = Type.Object({ template: Nullable(TemplateRef), interface: Nullable(Type.String()) });

export const PlanChange = Type.Object({
  nodeId: Type.String(),
  nodeName: Type.String(),
  before: Side,
  after: Side,
  changed: Type.Boolean({ description: 'after differs from before' }),
  stale: Type.Boolean({ description: 'A staged plan whose node’s assignment changed since it was staged' }),
});

/** What may be done to a plan now (`GET …/channel-map-plans/:id/actions`). */
export const PlanActions = Type.Object({ apply: AllowedAction, discard: AllowedAction });

export const Plan = Type.Object({
  id: Type.String(),
  name: Type.String(),
  state: Type.Enum(['staged', 'applied', 'discarded']),
  reason: Nullable(Type.String()),
  createdBy: Nullable(Type.String()),
  createdAt: DateTime,
  closedAt: Nullable(DateTime),
  closedBy: Nullable(Type.String()),
  changes: Type.Array(PlanChange, {
    description: 'Per node, before → after (before: now while staged, as staged once closed)',
  }),
});
