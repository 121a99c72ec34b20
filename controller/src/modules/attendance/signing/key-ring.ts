/**
 * A guild's public verification keys: the active one and every retired one. Rotation
 * retires the active key rather than forgetting it, so records signed before the
 * rotation keep verifying and the retired keys stay published.
 */
import { keyIdOf, PUBLIC_KEY_BYTES, type VerifyEngine } from './ed25519.js';
import { fromBase64url } from './encoding.js';
import { type RecordVerification, recordShape, verifyRecord } from './records.js';

export interface PublishedKey {
  keyId: string;
  /** base64url of the raw 32-byte public key. */
  publicKey: string;
  /** When it stopped signing (ISO 8601); absent on the active key. */
  retiredAt?: string;
}

/** Why a published key is unusable, or undefined if its keyId matches its public key. */
export function publishedKeyProblem(key: unknown): string | undefined {
  if (typeof key !== 'object' || key === null) return 'key is not an object';
  const { keyId, publicKey, retiredAt } = key as Record<string, unknown>;
  const bytes = fromBase64url(publicKey, PUBLIC_KEY_BYTES);
  if (!bytes) return 'publicKey is not 32 bytes of base64url';
  if (keyId !== keyIdOf(bytes)) return `keyId ${String(keyId)} is not the id of its public key`;
  if (retiredAt !== undefined && typeof retiredAt !== 'string') return 'retiredAt is not a string';
  return undefined;
}

export class KeyRing {
  private constructor(
    readonly active: PublishedKey | undefined,
    readonly retired: readonly PublishedKey[],
  ) {}

  /** Throws TypeError if any key's id does not match its public key. */
  static from(keys: { active?: PublishedKey; retired?: readonly PublishedKey[] }): KeyRing {
    const all = [...(keys.active ? [keys.active] : []), ...(keys.retired ?? [])];
    for (const key of all) {
      const problem = publishedKeyProblem(key);
      if (problem) throw new TypeError(problem);
    }
    return new KeyRing(
      keys.active && { keyId: keys.active.keyId, publicKey: keys.active.publicKey },
      (keys.retired ?? []).map((k) => ({ ...k })),
    );
  }

  find(keyId: string): PublishedKey | undefined {
    if (this.active?.keyId === keyId) return this.active;
    return this.retired.find((k) => k.keyId === keyId);
  }

  /** The new key becomes active; the old active key joins the retired ones. */
  rotate(next: { keyId: string; publicKey: string }, retiredAt: Date): KeyRing {
    if (this.find(next.keyId)) throw new TypeError(`key ${next.keyId} is already in the ring`);
    const retired = this.active
      ? [...this.retired, { ...this.active, retiredAt: retiredAt.toISOString() }]
      : [...this.retired];
    return KeyRing.from({ active: next, retired });
  }

  /** Verifies a record against whichever key of the ring it names. */
  async verify(record: unknown, options: { engine?: VerifyEngine } = {}): Promise<RecordVerification> {
    const fields = recordShape(record);
    const key = fields && this.find(fields.keyId);
    if (fields && !key)
      return { valid: false, reason: 'unknown_key', message: `no published key has id ${fields.keyId}` };
    return verifyRecord(record, key?.publicKey ?? '', options);
  }

  toJSON(): { active?: PublishedKey; retired: PublishedKey[] } {
    return { ...(this.active && { active: this.active }), retired: [...this.retired] };
  }
}
