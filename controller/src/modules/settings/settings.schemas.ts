/** The request and response schemas of one settings family, built from its body schema. */
import Type, { type TObject, type TSchema } from 'typebox';
import { AllowedAction, PageQuery } from '../../core/pagination.js';
import type { SettingsFamily } from './settings-family.js';
import { shownBodySchema } from './settings-secrets.js';

const DateTime = Type.String({ format: 'date-time' });
const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
const Reason = Type.String({ minLength: 1, maxLength: 500, description: 'Why (kept in the history)' });
const Action = AllowedAction;

export const SettingsParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

/** Every property of a body optional (a create starts from the defaults, an update from the object). */
function partialOf(body: TObject): TObject {
  const properties: Record<string, TSchema> = {};
  for (const [key, schema] of Object.entries(body.properties)) properties[key] = Type.Optional(schema);
  return Type.Object(properties, { additionalProperties: false });
}

/** A body as stored in history: revisions keep what was valid when they were made. */
const StoredBody = Type.Object({}, { additionalProperties: true });
const State = Type.Object({ name: Type.String(), body: StoredBody });

export const SettingsActions = Type.Object({ update: Action, delete: Action, rollback: Action });

export const SettingsListQuery = Type.Object(
  { ...PageQuery, q: Type.Optional(Type.String({ maxLength: 200, description: 'Text in the name' })) },
  { additionalProperties: false },
);
export const RollbackBody = Type.Object(
  { revision: Type.Integer({ minimum: 1 }), reason: Type.Optional(Reason) },
  { additionalProperties: false },
);

export const HistoryEntry = Type.Object({
  revision: Type.Integer(),
  action: Type.Enum(['create', 'update', 'rollback', 'delete']),
  at: DateTime,
  actor: Type.Object({
    id: Type.Union([Type.String(), Type.Null()]),
    name: Type.Union([Type.String(), Type.Null()]),
  }),
  reason: Type.Union([Type.String(), Type.Null()]),
  before: Type.Union([State, Type.Null()]),
  after: State,
});

/** The schemas of one family's routes. */
export function familySchemas(family: SettingsFamily) {
  const partial = partialOf(family.body);
  return {
    object: Type.Object({
      id: Type.String(),
      family: Type.String(),
      name: Type.String(),
      body: shownBodySchema(family),
      revision: Type.Integer({ description: 'The current revision (1 at creation)' }),
      createdBy: Type.Union([Type.String(), Type.Null()]),
      createdAt: DateTime,
      updatedAt: DateTime,
    }),
    create: Type.Object(
      { name: Name, body: Type.Optional(partial) },
      { additionalProperties: false, description: `Fields left out take the ${family.title} defaults` },
    ),
    update: Type.Object(
      { name: Type.Optional(Name), body: Type.Optional(partial), reason: Type.Optional(Reason) },
      { additionalProperties: false, minProperties: 1, description: 'Fields left out are kept' },
    ),
  };
}
