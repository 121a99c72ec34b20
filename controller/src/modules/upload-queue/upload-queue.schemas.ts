import Type from 'typebox';
import { FacetCounts } from '../../core/facets.js';
import { AllowedAction, PageQuery } from '../../core/pagination.js';
import { QUEUE_STATES } from './upload-queue.repository.js';

const DateTime = Type.String({ format: 'date-time' });
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
const Id = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
const Uuid = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const ProviderId = Type.String({ pattern: Uuid, description: 'The upload provider (its settings id)' });

export const QueueItemSchema = Type.Object({
  id: Type.String(),
  recordingId: Type.String(),
  nodeId: Type.String(),
  siteId: Type.String(),
  providerId: Type.String(),
  policyId: Nullable(Type.String()),
  state: Type.Enum(QUEUE_STATES),
  attempts: Type.Integer(),
  maxAttempts: Type.Integer(),
  nextAttemptAt: DateTime,
  objectKey: Type.String({ description: "Where the copy goes, under the provider's root or prefix" }),
  sizeBytes: Type.Integer(),
  bytesSent: Type.Integer({ description: 'Bytes the provider holds of a copy in progress' }),
  sha256: Type.String(),
  resumable: Type.Boolean({
    description: 'A multipart upload is in progress: the next attempt sends the rest',
  }),
  verifiedBy: Nullable(Type.String({ description: "checksum (the provider's stored SHA-256) or reread" })),
  verifiedAt: Nullable(DateTime),
  lastError: Nullable(Type.String()),
  createdAt: DateTime,
  updatedAt: DateTime,
});

export const QueueFilters = {
  state: Type.Optional(Type.Enum(QUEUE_STATES)),
  providerId: Type.Optional(ProviderId),
  recordingId: Type.Optional(Id),
};
/** The list's filters without paging: what its facets count. */
export const QueueFacetsQuery = Type.Object(QueueFilters, { additionalProperties: false });

/** How many items the list's filters select, by state and by provider (`GET /upload-queue/facets`). */
export const QueueFacets = Type.Object({
  total: Type.Integer(),
  state: FacetCounts(Type.String()),
  providerId: FacetCounts(Type.String()),
});

export const QueueListQuery = Type.Object({ ...PageQuery, ...QueueFilters }, { additionalProperties: false });
export const QueueItemParams = Type.Object({ id: Type.String({ pattern: Uuid }) });
export const RecordingParams = Type.Object({ id: Id });

export const EnqueueBody = Type.Object(
  {
    providerId: ProviderId,
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Default 10' })),
  },
  { additionalProperties: false },
);

export const BulkEnqueueBody = Type.Object(
  {
    ids: Type.Array(Id, { minItems: 1, maxItems: 1000, uniqueItems: true, description: 'Recording ids' }),
    providerId: ProviderId,
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: false },
);

export const QueueItemActions = Type.Object({ retry: AllowedAction });

export const RunnerStatusSchema = Type.Object({
  runnerId: Type.String({ description: "This controller's runner" }),
  running: Type.Boolean(),
  lastPassAt: Nullable(DateTime),
  lastPassError: Nullable(Type.String()),
  copying: Type.Array(Type.String(), { description: 'Items this controller is copying now' }),
  items: Type.Array(Type.Object({ providerId: Type.String(), state: Type.String(), count: Type.Integer() }), {
    description: 'Items by provider and state (the whole queue)',
  }),
});

export const RunnerActions = Type.Object({ run: AllowedAction });
