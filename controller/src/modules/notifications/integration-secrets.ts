/**
 * An integration's sealed fields (crypto/secret-box.ts): the URL (a chat webhook's URL is its
 * credential) and the signing secret, each bound to the integration by its AAD.
 */
import { randomBytes } from 'node:crypto';
import type { SecretBox } from '../../crypto/secret-box.js';
import type { NotificationIntegration } from './notifications.repository.js';
import { secretAad, urlAad } from './notifications.rules.js';

/** A generic webhook's signing secret: `whsec_` + 32 random bytes. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

export function sealUrl(box: SecretBox, id: string, url: string): string {
  return box.seal(url, urlAad(id));
}

export function sealSecret(box: SecretBox, id: string, secret: string): string {
  return box.seal(secret, secretAad(id));
}

/** The URL and secret, opened for one send; never logged. */
export function openIntegration(
  box: SecretBox,
  row: Pick<NotificationIntegration, 'id' | 'url' | 'secret'>,
): { url: string; secret: string | null } {
  return {
    url: box.open(row.url, urlAad(row.id)),
    secret: row.secret === null ? null : box.open(row.secret, secretAad(row.id)),
  };
}
