import Type from 'typebox';

export const Username = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._@-]+$' });
/** ASVS: at least 12 characters; long passphrases allowed. */
export const Password = Type.String({ minLength: 12, maxLength: 1024 });

export const SetupBody = Type.Object(
  {
    username: Username,
    password: Password,
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);
export const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export const UserSummary = Type.Object({
  id: Type.String(),
  username: Type.String(),
  displayName: Type.String(),
});
export const LoginResponse = Type.Object({
  data: Type.Object({
    token: Type.String({
      description: 'Session token; also set as an HttpOnly cookie. Use as Bearer from scripts.',
    }),
    csrfToken: Type.String({
      description: 'Send as x-csrf-token on mutating requests authenticated by the cookie.',
    }),
    expiresAt: Type.String({ format: 'date-time' }),
    user: UserSummary,
  }),
});
export const Scope = Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) });
export const MeResponse = Type.Object({
  data: Type.Object({
    user: UserSummary,
    via: Type.String(),
    csrfToken: Type.Optional(
      Type.String({ description: 'For session logins: send as x-csrf-token on mutating requests.' }),
    ),
    permissions: Type.Array(Type.Object({ permission: Type.String(), scopes: Type.Array(Scope) })),
  }),
});
export const ApiToken = Type.Object({
  id: Type.String(),
  name: Type.String(),
  hint: Type.String(),
  createdAt: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  revoked: Type.Boolean(),
});
export const CreateApiTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);
export const CreatedApiToken = Type.Object({
  data: Type.Intersect([ApiToken, Type.Object({ token: Type.String({ description: 'Shown once.' }) })]),
});
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
