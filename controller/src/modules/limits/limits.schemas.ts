/** Rate-limit admin contracts: profiles and route assignments. */
import Type, { type Static } from 'typebox';

export const ProfileBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
    max: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Requests allowed per window' }),
    windowSeconds: Type.Integer({ minimum: 1, maximum: 24 * 60 * 60 }),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type ProfileBody = Static<typeof ProfileBody>;

export const AssignmentBody = Type.Object(
  {
    route: Type.String({
      minLength: 3,
      maxLength: 300,
      description: 'A declared route as `METHOD /url/pattern`, e.g. `GET /api/v1/auth/me`',
    }),
    profileId: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);
export type AssignmentBody = Static<typeof AssignmentBody>;

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const ProfileSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  max: Type.Integer(),
  windowSeconds: Type.Integer(),
  description: Type.Union([Type.String(), Type.Null()]),
  assignments: Type.Integer({ description: 'Routes this profile limits' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const AssignmentSchema = Type.Object({
  id: Type.String(),
  route: Type.String(),
  profile: Type.Object({
    id: Type.String(),
    name: Type.String(),
    max: Type.Integer(),
    windowSeconds: Type.Integer(),
  }),
  createdAt: Type.String({ format: 'date-time' }),
});
