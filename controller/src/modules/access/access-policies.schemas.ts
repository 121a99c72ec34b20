/**
 * Organisation-wide access policies, one stored JSON document per top-level key
 * (AccessPolicy.name). Read them through `AccessPoliciesService.get()`.
 */
import Type, { type Static } from 'typebox';
import { RoleName, ScopeInput } from './access.schemas.js';

export const PasswordPolicy = Type.Object(
  {
    minLength: Type.Integer({
      minimum: 12,
      maximum: 1024,
      description: 'Minimum length of new passwords (never below 12)',
    }),
  },
  { additionalProperties: false },
);

export const SessionPolicy = Type.Object(
  {
    maxIdleMinutes: Type.Union([Type.Integer({ minimum: 1, maximum: 7 * 24 * 60 }), Type.Null()], {
      description: 'Caps the idle timeout of new and sliding sessions; null = the controller setting',
    }),
    maxAbsoluteMinutes: Type.Union([Type.Integer({ minimum: 5, maximum: 90 * 24 * 60 }), Type.Null()], {
      description: 'Caps the absolute lifetime of new sessions; null = the controller setting',
    }),
  },
  { additionalProperties: false },
);

export const OidcRoleMapping = Type.Object(
  {
    group: Type.String({ minLength: 1, maxLength: 256, description: 'Value of the IdP groups claim' }),
    role: RoleName,
    scope: ScopeInput,
  },
  { additionalProperties: false },
);

export const AccessPoliciesSchema = Type.Object({
  password: PasswordPolicy,
  sessions: SessionPolicy,
  /** At OIDC sign-in, members of `group` get `role` over `scope`. */
  oidcRoleMappings: Type.Array(OidcRoleMapping, { maxItems: 200 }),
});
export type AccessPolicies = Static<typeof AccessPoliciesSchema>;
export type AccessPolicyName = keyof AccessPolicies;

export const AccessPoliciesPatch = Type.Object(
  {
    password: Type.Optional(PasswordPolicy),
    sessions: Type.Optional(SessionPolicy),
    oidcRoleMappings: Type.Optional(Type.Array(OidcRoleMapping, { maxItems: 200 })),
  },
  { additionalProperties: false, minProperties: 1, description: 'Replaces the policies it names' },
);
export type AccessPoliciesPatch = Static<typeof AccessPoliciesPatch>;

export const DEFAULT_ACCESS_POLICIES: AccessPolicies = {
  password: { minLength: 12 },
  sessions: { maxIdleMinutes: null, maxAbsoluteMinutes: null },
  oidcRoleMappings: [],
};
