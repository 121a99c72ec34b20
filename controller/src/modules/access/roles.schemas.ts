import Type from 'typebox';
import { PermissionName, RoleName } from './access.schemas.js';

const Permissions = Type.Array(PermissionName, { minItems: 1, maxItems: 64, uniqueItems: true });
const Description = Type.String({ maxLength: 500 });

export const CreateRoleBody = Type.Object(
  { name: RoleName, description: Type.Optional(Description), permissions: Permissions },
  { additionalProperties: false },
);

export const UpdateRoleBody = Type.Object(
  {
    description: Type.Optional(Type.Union([Description, Type.Null()])),
    permissions: Type.Optional(Permissions),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'Roles are referenced by name (grants, OIDC mappings), so names do not change',
  },
);

export const RoleView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  builtIn: Type.Boolean({ description: 'Built-in roles cannot be changed or deleted' }),
  description: Type.Union([Type.String(), Type.Null()]),
  permissions: Type.Array(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
});
