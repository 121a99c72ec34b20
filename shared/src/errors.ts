/**
 * Error codes in the `{ error: { code } }` envelope (README, "API conventions"). One list
 * for both programs.
 */
export const ERROR_CODES = {
  badRequest: 'bad_request',
  validation: 'validation_failed',
  unauthenticated: 'unauthenticated',
  forbidden: 'forbidden',
  csrf: 'csrf_token_invalid',
  notFound: 'not_found',
  methodNotAllowed: 'method_not_allowed',
  conflict: 'conflict',
  staleLease: 'stale_lease',
  payloadTooLarge: 'payload_too_large',
  unsupportedMediaType: 'unsupported_media_type',
  rangeNotSatisfiable: 'range_not_satisfiable',
  unprocessable: 'unprocessable',
  checksumMismatch: 'checksum_mismatch',
  offsetMismatch: 'offset_mismatch',
  rateLimited: 'rate_limited',
  setupComplete: 'setup_already_complete',
  oidcNotConfigured: 'oidc_not_configured',
  oidcStateInvalid: 'oidc_state_invalid',
  oidcProviderError: 'oidc_provider_error',
  oidcLoginFailed: 'oidc_login_failed',
  accountDisabled: 'account_disabled',
  unavailable: 'service_unavailable',
  discordUnavailable: 'discord_unavailable',
  discordNotInGuild: 'discord_bot_not_in_guild',
  planRequired: 'plan_required',
  internal: 'internal_error',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export interface ErrorBody {
  error: { code: ErrorCode | string; message: string; details?: unknown };
  requestId: string;
}
