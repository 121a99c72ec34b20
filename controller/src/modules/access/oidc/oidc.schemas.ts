import Type from 'typebox';
import { Data } from '../../../core/pagination.js';

export const OidcPublicConfig = Data(
  Type.Object({
    enabled: Type.Boolean({ description: 'Whether single sign-on is configured' }),
    buttonLabel: Type.String({ description: 'Label for the sign-in button' }),
  }),
);

/**
 * Where to land after sign-in: a path on this site only. One leading slash (not `//`
 * or `/\`, which browsers read as another host), no backslashes, spaces or control
 * characters; the service re-checks by resolving it against a placeholder origin.
 */
export const ReturnTo = Type.String({
  minLength: 1,
  maxLength: 512,
  pattern: '^/(?![/\\\\])[^\\\\\\s\\u0000-\\u001f\\u007f]*$',
  description: 'A same-origin path such as /recordings?site=a; absolute URLs are refused',
});

export const OidcLoginQuery = Type.Object(
  { returnTo: Type.Optional(ReturnTo) },
  { additionalProperties: false },
);

/** The authorization response. Providers may add parameters (session_state, …): allowed. */
export const OidcCallbackQuery = Type.Object({
  code: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  state: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  iss: Type.Optional(Type.String({ maxLength: 2048 })),
  error: Type.Optional(Type.String({ maxLength: 256 })),
  error_description: Type.Optional(Type.String({ maxLength: 2048 })),
});

export const Redirect = Type.Null({ description: 'Redirect (see the Location header)' });

export const OidcDiscovery = Data(
  Type.Object({
    issuer: Type.String(),
    fetchedAt: Type.String({ format: 'date-time' }),
    document: Type.Object({}, { additionalProperties: true, description: 'The discovery document' }),
  }),
);
