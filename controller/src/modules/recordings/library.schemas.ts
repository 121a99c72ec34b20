/**
 * The recording library's organising routes: metadata (one recording or many), deletion (one or
 * many), facets and what the caller may do with a recording.
 */
import Type, { type Static } from 'typebox';
import { AllowedAction } from '../../core/pagination.js';
import { NodeId } from '../nodes/index.js';
import { CreatedRange, ObjectId, PlaceQuery, RecordingStates, SearchQuery } from './recordings.schemas.js';

/** The most ids one bulk request names. */
export const MAX_BULK_IDS = 1000;
export const MAX_TAGS = 32;
export const MAX_CUSTOM_FIELDS = 32;

const Tag = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^\\S(.*\\S)?$',
  description: '1-64 characters, no surrounding spaces',
});
const Tags = Type.Array(Tag, { maxItems: MAX_TAGS, uniqueItems: true });
const FieldName = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9][A-Za-z0-9 _.-]*$',
});
const FieldValue = Type.String({ maxLength: 1000 });
const Notes = Type.Union([Type.String({ maxLength: 10_000 }), Type.Null()]);

/**
 * Custom fields as a JSON merge patch (RFC 7386): a value sets the field, null removes it,
 * fields not named stay as they are.
 */
const CustomFieldsPatch = Type.Record(Type.String(), Type.Union([FieldValue, Type.Null()]), {
  propertyNames: FieldName,
  maxProperties: MAX_CUSTOM_FIELDS,
  description: 'A value sets a field, null removes it; fields not named are kept (JSON merge patch)',
});

export const MetadataPatch = Type.Object(
  {
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    notes: Type.Optional(Notes),
    tags: Type.Optional(Type.Array(Tag, { maxItems: MAX_TAGS, description: 'Replaces the tags' })),
    customFields: Type.Optional(CustomFieldsPatch),
    legalHold: Type.Optional(
      Type.Boolean({ description: 'A held recording cannot be deleted, by hand or by retention' }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type MetadataPatch = Static<typeof MetadataPatch>;

const Ids = Type.Array(ObjectId, { minItems: 1, maxItems: MAX_BULK_IDS, uniqueItems: true });

export const BulkMetadataBody = Type.Object(
  {
    ids: Ids,
    set: Type.Object(
      {
        notes: Type.Optional(Notes),
        addTags: Type.Optional(Tags),
        removeTags: Type.Optional(Tags),
        customFields: Type.Optional(CustomFieldsPatch),
        legalHold: Type.Optional(Type.Boolean()),
      },
      { additionalProperties: false, minProperties: 1 },
    ),
  },
  { additionalProperties: false },
);
export type BulkMetadataBody = Static<typeof BulkMetadataBody>;
export type BulkMetadataChange = BulkMetadataBody['set'];

export const DeleteQuery = Type.Object(
  {
    allowTagged: Type.Optional(
      Type.Boolean({ description: 'Delete a tagged recording too (tagged ones are kept unless you say so)' }),
    ),
  },
  { additionalProperties: false },
);

export const BulkDeleteBody = Type.Object(
  {
    ids: Ids,
    allowTagged: Type.Optional(Type.Boolean({ description: 'Delete tagged recordings too' })),
  },
  { additionalProperties: false },
);
export type BulkDeleteBody = Static<typeof BulkDeleteBody>;

export const DeletedRecording = Type.Object({
  id: Type.String(),
  deleted: Type.Literal(true),
  /** Bytes freed on the controller's disk. */
  freedBytes: Type.Integer(),
  copies: Type.Array(
    Type.Object({ target: Type.String(), ok: Type.Boolean(), error: Type.Optional(Type.String()) }),
    { description: 'Its copies removed from upload providers (each: done, or why not)' },
  ),
});

/** The library filters: the list's, and the facets and export share them. */
export const LibraryFilters = Type.Object(
  {
    nodeId: Type.Optional(NodeId),
    state: Type.Optional(Type.Enum(RecordingStates)),
    tag: Type.Optional(Tag),
    ...PlaceQuery,
    ...SearchQuery,
    ...CreatedRange,
  },
  { additionalProperties: false },
);
export type LibraryFilters = Static<typeof LibraryFilters>;

const Count = Type.Object({ value: Type.String(), count: Type.Integer() });

export const Facets = Type.Object({
  total: Type.Integer(),
  totalBytes: Type.Integer({ description: 'Bytes of the complete files among them' }),
  totalDurationMs: Type.Integer(),
  oldestAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  newestAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  state: Type.Array(Count),
  node: Type.Array(Count),
  site: Type.Array(Type.Object({ value: Type.String(), count: Type.Integer(), name: Type.String() }), {
    description: "By the site of each recording's node (its id, and its name)",
  }),
  container: Type.Array(Count),
  tag: Type.Array(Count, { description: 'The 100 most used tags' }),
  legalHold: Type.Integer({ description: 'How many are held' }),
  partial: Type.Integer({ description: 'How many cover only part of their window' }),
});

export const RecordingActions = Type.Object({
  playback: AllowedAction,
  download: AllowedAction,
  editMetadata: AllowedAction,
  stop: AllowedAction,
  delete: AllowedAction,
});

export const DownloadBody = Type.Object(
  {
    ids: Type.Optional(
      Type.Array(ObjectId, {
        maxItems: 99,
        uniqueItems: true,
        description: 'More recordings to put in the same archive (this one comes first)',
      }),
    ),
    format: Type.Optional(
      Type.Enum(['file', 'zip'], {
        description:
          'file: where to get this recording (GET …/file, with its size and SHA-256); zip: an archive ' +
          'streamed in the answer, with manifest.json and SHA256SUMS. Default: zip when ids are given.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const PreparedFile = Type.Object({
  url: Type.String(),
  filename: Type.String(),
  contentType: Type.String(),
  sizeBytes: Type.Integer(),
  sha256: Type.Union([Type.String(), Type.Null()]),
});
