/**
 * Opaque bearer secrets. Each kind has a prefix so a leaked string is recognisable
 * (and secret scanners can match it). At rest only SHA-256 is kept: the secrets are
 * 256-bit random, so a fast hash is enough, unlike passwords.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SECRET_PREFIX = { session: 'ess_', apiToken: 'eat_' } as const;

export function newSecret(prefix = ''): string {
  return prefix + randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** What a list may show of a secret: its last four characters. */
export function secretHint(secret: string): string {
  return `…${secret.slice(-4)}`;
}

/** Compares two hex digests in constant time (false when their lengths differ). */
export function safeEqualHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
