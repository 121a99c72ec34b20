/** Schemas shared by users, groups, roles and access policies. */
import Type from 'typebox';
import { PERMISSIONS } from '../../../../shared/src/permissions.js';

export const RoleName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' });
export const PermissionName = Type.Enum([...PERMISSIONS]);
export const ScopeTypeName = Type.Enum(['fleet', 'site', 'node', 'guild']);

export const ScopeInput = Type.Object(
  {
    type: ScopeTypeName,
    id: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'Site id or node id; omit for fleet' }),
    ),
  },
  { additionalProperties: false },
);

export const GrantInput = Type.Object(
  { role: RoleName, scope: ScopeInput },
  { additionalProperties: false, description: 'A role (by name) over the fleet, a site or a node' },
);
export const GrantInputs = Type.Array(GrantInput, { maxItems: 100 });

export const ScopeView = Type.Object({
  type: Type.String(),
  id: Type.Union([Type.String(), Type.Null()]),
});
export const GrantView = Type.Object({
  role: Type.String(),
  scope: ScopeView,
});

export const ActionState = Type.Object({
  action: Type.String(),
  permission: Type.String(),
  permitted: Type.Boolean({ description: 'The caller holds the permission for this object' }),
  allowed: Type.Boolean({ description: "The object's state allows the action now" }),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'Why not, when not' }),
});

export const UuidParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
