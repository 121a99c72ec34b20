import Type from 'typebox';
import { GrantInputs, GrantView } from './access.schemas.js';

const GroupName = Type.String({ minLength: 1, maxLength: 100 });
const Description = Type.String({ maxLength: 500 });
const OidcGroup = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'IdP groups-claim value whose members join this group at single sign-on',
});

export const CreateGroupBody = Type.Object(
  {
    name: GroupName,
    description: Type.Optional(Description),
    oidcGroup: Type.Optional(OidcGroup),
    grants: Type.Optional(GrantInputs),
  },
  { additionalProperties: false },
);

export const UpdateGroupBody = Type.Object(
  {
    name: Type.Optional(GroupName),
    description: Type.Optional(Type.Union([Description, Type.Null()])),
    oidcGroup: Type.Optional(Type.Union([OidcGroup, Type.Null()])),
    grants: Type.Optional(GrantInputs),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const GroupView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  oidcGroup: Type.Union([Type.String(), Type.Null()]),
  grants: Type.Array(GrantView),
  members: Type.Array(Type.Object({ id: Type.String(), username: Type.String(), disabled: Type.Boolean() })),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const MemberParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  userId: Type.String({ minLength: 1, maxLength: 64 }),
});
