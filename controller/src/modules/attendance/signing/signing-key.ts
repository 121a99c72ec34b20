/**
 * An unlocked guild key, held in memory only. The secret sits in a private field, so
 * it never appears in JSON, logs or util.inspect output; `destroy()` overwrites it
 * (best effort: JavaScript cannot promise no other copy exists).
 */
import { inspect } from 'node:util';
import { keyIdOf, publicKeyFromSecret, SECRET_KEY_BYTES, signEd25519 } from './ed25519.js';
import { toBase64url } from './encoding.js';
import { isSnowflake } from './payloads.js';
import type { RecordSigner } from './records.js';

export class SigningKey implements RecordSigner {
  readonly #secret: Uint8Array;
  #destroyed = false;

  private constructor(
    readonly guildId: string,
    readonly keyId: string,
    /** base64url of the raw 32-byte public key. */
    readonly publicKey: string,
    secret: Uint8Array,
  ) {
    this.#secret = secret;
  }

  /** From a 32-byte Ed25519 secret key (seed). The bytes are copied. */
  static async fromSecret(guildId: string, secretKey: Uint8Array): Promise<SigningKey> {
    if (!isSnowflake(guildId)) throw new TypeError(`not a Discord guild id: ${guildId}`);
    if (secretKey.length !== SECRET_KEY_BYTES) throw new TypeError('an Ed25519 secret key is 32 bytes');
    const secret = Uint8Array.from(secretKey);
    const publicKey = await publicKeyFromSecret(secret);
    return new SigningKey(guildId, keyIdOf(publicKey), toBase64url(publicKey), secret);
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  sign(message: Uint8Array): Promise<Uint8Array> {
    if (this.#destroyed) return Promise.reject(new Error(`signing key ${this.keyId} was destroyed`));
    return signEd25519(message, this.#secret);
  }

  destroy(): void {
    this.#secret.fill(0);
    this.#destroyed = true;
  }

  toJSON(): { guildId: string; keyId: string; publicKey: string } {
    return { guildId: this.guildId, keyId: this.keyId, publicKey: this.publicKey };
  }

  [inspect.custom](): string {
    return `SigningKey { guildId: '${this.guildId}', keyId: '${this.keyId}' }`;
  }
}
