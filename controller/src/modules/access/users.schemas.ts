import Type from 'typebox';
import { PageQuery } from '../../core/pagination.js';
import { ActionState, GrantInput, GrantInputs, GrantView, ScopeView } from './access.schemas.js';
import { Password, Username } from './auth/auth.schemas.js';

const GroupId = Type.String({ minLength: 1, maxLength: 64 });
const GroupIds = Type.Array(GroupId, { maxItems: 100, description: 'Group ids' });

export const UserListQuery = Type.Object(
  {
    ...PageQuery,
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Username contains' })),
    disabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const CreateUserBody = Type.Object(
  {
    username: Username,
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    email: Type.Optional(Type.String({ minLength: 3, maxLength: 254, format: 'email' })),
    password: Type.Union([Password, Type.Null()], {
      description: 'At least the policy minimum (never below 12); null for a single-sign-on-only user',
    }),
    grants: Type.Optional(GrantInputs),
    groups: Type.Optional(GroupIds),
  },
  { additionalProperties: false },
);

export const UpdateAccessBody = Type.Object(
  {
    grants: Type.Optional(
      Type.Array(GrantInput, { maxItems: 100, description: "Replaces the user's own grants" }),
    ),
    groups: Type.Optional(
      Type.Array(GroupId, { maxItems: 100, description: "Replaces the user's group memberships (ids)" }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const SetPasswordBody = Type.Object(
  {
    password: Type.Union([Password, Type.Null()], {
      description: 'New password; null removes it (single sign-on only)',
    }),
    currentPassword: Type.Optional(
      Type.String({ minLength: 1, maxLength: 1024, description: 'Needed to change your own password' }),
    ),
  },
  { additionalProperties: false },
);

export const SetStatusBody = Type.Object(
  { disabled: Type.Boolean({ description: 'true disables the user and ends all their sessions now' }) },
  { additionalProperties: false },
);

export const UserView = Type.Object({
  id: Type.String(),
  username: Type.String(),
  displayName: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  disabled: Type.Boolean(),
  hasPassword: Type.Boolean(),
  sso: Type.Union([Type.Object({ issuer: Type.String(), subject: Type.String() }), Type.Null()]),
  grants: Type.Array(GrantView),
  groups: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), grants: Type.Array(GrantView) })),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const UserDetail = Type.Intersect([
  UserView,
  Type.Object({
    permissions: Type.Array(Type.Object({ permission: Type.String(), scopes: Type.Array(ScopeView) }), {
      description: 'Effective permissions: own grants plus those of the groups',
    }),
    actions: Type.Array(ActionState),
  }),
]);
