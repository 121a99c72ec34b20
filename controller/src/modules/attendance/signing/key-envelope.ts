/**
 * A guild's private key at rest: a versioned JSON envelope.
 *
 *   key     = scrypt(NFKC(passphrase), salt 16 B, N = 2^logN, r, p) → 32 B
 *   cipher  = AES-256-GCM(key, iv 12 B, secret key 32 B, AAD) → ciphertext + tag 16 B
 *   AAD     = RFC 8785 JSON of every field but iv, tag and ciphertext
 *             (version, kind, guildId, keyId, publicKey, kdf incl. salt, cipher name)
 *
 * The AAD binds the ciphertext to its guild and key id: moving an envelope to another
 * guild, or editing its key id, public key or KDF parameters, fails like a wrong
 * passphrase does (GCM cannot tell the two apart, so neither can we). The KDF
 * parameters travel in the envelope, so raising the cost later still unlocks old keys.
 */
import { createCipheriv, createDecipheriv, randomBytes, type ScryptOptions, scrypt } from 'node:crypto';
import canonicalize from 'canonicalize';
import { keyIdOf, PUBLIC_KEY_BYTES, randomSecretKey, SECRET_KEY_BYTES } from './ed25519.js';
import { fromBase64url, toBase64url, utf8 } from './encoding.js';
import { isSnowflake } from './payloads.js';
import { SigningKey } from './signing-key.js';

export const ENVELOPE_VERSION = 1;
export const ENVELOPE_KIND = 'earshot.attendance.guild-key';
/** OWASP's scrypt cost, as for passwords (auth/password.ts): N = 2^17, r = 8, p = 1 (128 MiB). */
export const DEFAULT_SCRYPT_LOG_N = 17;
/** Lowest cost accepted, for tests only; an envelope asking for more than 2^20 is refused. */
export const MIN_SCRYPT_LOG_N = 10;
export const MAX_SCRYPT_LOG_N = 20;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface GuildKeyEnvelope {
  version: typeof ENVELOPE_VERSION;
  kind: typeof ENVELOPE_KIND;
  guildId: string;
  keyId: string;
  /** base64url of the raw 32-byte public key. */
  publicKey: string;
  kdf: { name: 'scrypt'; logN: number; r: number; p: number; salt: string };
  cipher: { name: 'aes-256-gcm'; iv: string; tag: string };
  ciphertext: string;
}

export type SigningKeyFailure =
  | 'invalid_passphrase'
  | 'malformed_envelope'
  | 'unsupported_envelope'
  | 'guild_mismatch'
  | 'unlock_failed'
  | 'key_mismatch';

export class SigningKeyError extends Error {
  constructor(
    readonly reason: SigningKeyFailure,
    message: string,
  ) {
    super(message);
    this.name = 'SigningKeyError';
  }
}

export interface KeyProtection {
  /** scrypt cost as log2(N); DEFAULT_SCRYPT_LOG_N unless testing. */
  scryptLogN?: number;
}

export interface GeneratedGuildKey {
  keyId: string;
  publicKey: string;
  /** The envelope as a JSON string: store it as is. */
  encryptedPrivateKey: string;
  /** Already unlocked, so the caller need not unlock what it just created. */
  signingKey: SigningKey;
}

export async function generateGuildKey(
  input: { guildId: string; passphrase: string } & KeyProtection,
): Promise<GeneratedGuildKey> {
  const secret = randomSecretKey();
  try {
    return await wrap(input.guildId, secret, input.passphrase, input.scryptLogN);
  } finally {
    secret.fill(0);
  }
}

/** Decrypts an envelope into a SigningKey. Throws SigningKeyError. */
export async function unlock(
  encryptedPrivateKey: string,
  passphrase: string,
  expected: { guildId?: string } = {},
): Promise<SigningKey> {
  const envelope = readEnvelope(encryptedPrivateKey);
  if (expected.guildId !== undefined && envelope.guildId !== expected.guildId)
    throw new SigningKeyError(
      'guild_mismatch',
      `this key belongs to guild ${envelope.guildId}, not ${expected.guildId}`,
    );
  const secret = await decrypt(envelope, passphrase);
  try {
    const signingKey = await SigningKey.fromSecret(envelope.guildId, secret);
    if (signingKey.publicKey !== envelope.publicKey || signingKey.keyId !== envelope.keyId) {
      signingKey.destroy();
      throw new SigningKeyError('key_mismatch', 'the decrypted key does not match the envelope public key');
    }
    return signingKey;
  } finally {
    secret.fill(0);
  }
}

/** Re-encrypts under a new passphrase (and cost); the key itself, and its id, stay. */
export async function changePassphrase(
  encryptedPrivateKey: string,
  oldPassphrase: string,
  newPassphrase: string,
  protection: KeyProtection = {},
): Promise<string> {
  const envelope = readEnvelope(encryptedPrivateKey);
  const secret = await decrypt(envelope, oldPassphrase);
  try {
    const rewrapped = await wrap(envelope.guildId, secret, newPassphrase, protection.scryptLogN);
    rewrapped.signingKey.destroy();
    return rewrapped.encryptedPrivateKey;
  } finally {
    secret.fill(0);
  }
}

/** The envelope's public part, checked, without decrypting. Throws SigningKeyError. */
export function readEnvelope(encryptedPrivateKey: string): GuildKeyEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(encryptedPrivateKey);
  } catch {
    throw new SigningKeyError('malformed_envelope', 'the encrypted key is not JSON');
  }
  const e = value as Partial<GuildKeyEnvelope> | null;
  if (typeof e !== 'object' || e === null || e.kind !== ENVELOPE_KIND)
    throw new SigningKeyError('malformed_envelope', 'not an Earshot guild key envelope');
  if (e.version !== ENVELOPE_VERSION)
    throw new SigningKeyError(
      'unsupported_envelope',
      `envelope version ${String(e.version)} is not supported`,
    );
  const kdf = e.kdf;
  const cipher = e.cipher;
  const publicKey = fromBase64url(e.publicKey, PUBLIC_KEY_BYTES);
  const problems = [
    !isSnowflake(e.guildId) && 'guildId',
    !(publicKey && keyIdOf(publicKey) === e.keyId) && 'keyId/publicKey',
    !(
      kdf?.name === 'scrypt' &&
      Number.isInteger(kdf.logN) &&
      kdf.logN >= MIN_SCRYPT_LOG_N &&
      kdf.logN <= MAX_SCRYPT_LOG_N &&
      kdf.r === SCRYPT_R &&
      kdf.p === SCRYPT_P &&
      fromBase64url(kdf.salt, SALT_BYTES)
    ) && 'kdf',
    !(
      cipher?.name === 'aes-256-gcm' &&
      fromBase64url(cipher.iv, IV_BYTES) &&
      fromBase64url(cipher.tag, TAG_BYTES)
    ) && 'cipher',
    !fromBase64url(e.ciphertext, SECRET_KEY_BYTES) && 'ciphertext',
  ].filter(Boolean);
  if (problems.length > 0)
    throw new SigningKeyError('malformed_envelope', `invalid envelope field(s): ${problems.join(', ')}`);
  return e as GuildKeyEnvelope;
}

function additionalData(e: Omit<GuildKeyEnvelope, 'cipher' | 'ciphertext'>): Uint8Array {
  const bound = {
    version: e.version,
    kind: e.kind,
    guildId: e.guildId,
    keyId: e.keyId,
    publicKey: e.publicKey,
    kdf: e.kdf,
    cipher: { name: 'aes-256-gcm' },
  };
  return utf8(canonicalize(bound)!);
}

function checkPassphrase(passphrase: unknown): asserts passphrase is string {
  if (typeof passphrase !== 'string' || passphrase.length === 0)
    throw new SigningKeyError('invalid_passphrase', 'the passphrase must be a non-empty string');
}

function deriveKey(passphrase: string, salt: Uint8Array, logN: number): Promise<Buffer> {
  const options: ScryptOptions = {
    N: 2 ** logN,
    r: SCRYPT_R,
    p: SCRYPT_P,
    maxmem: 256 * 2 ** logN * SCRYPT_R + 1024 * 1024,
  };
  return new Promise((resolve, reject) =>
    scrypt(passphrase.normalize('NFKC'), salt, 32, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

async function wrap(
  guildId: string,
  secret: Uint8Array,
  passphrase: string,
  scryptLogN = DEFAULT_SCRYPT_LOG_N,
): Promise<GeneratedGuildKey> {
  checkPassphrase(passphrase);
  if (!Number.isInteger(scryptLogN) || scryptLogN < MIN_SCRYPT_LOG_N || scryptLogN > MAX_SCRYPT_LOG_N)
    throw new RangeError(`scryptLogN must be an integer in ${MIN_SCRYPT_LOG_N}..${MAX_SCRYPT_LOG_N}`);
  const signingKey = await SigningKey.fromSecret(guildId, secret);
  const salt = randomBytes(SALT_BYTES);
  const header = {
    version: ENVELOPE_VERSION,
    kind: ENVELOPE_KIND,
    guildId,
    keyId: signingKey.keyId,
    publicKey: signingKey.publicKey,
    kdf: {
      name: 'scrypt',
      logN: scryptLogN,
      r: SCRYPT_R,
      p: SCRYPT_P,
      salt: toBase64url(salt),
    },
  } as const;
  const iv = randomBytes(IV_BYTES);
  const key = await deriveKey(passphrase, salt, scryptLogN);
  try {
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(header));
    const ciphertext = Buffer.concat([cipher.update(secret), cipher.final()]);
    const envelope: GuildKeyEnvelope = {
      ...header,
      kdf: { ...header.kdf },
      cipher: { name: 'aes-256-gcm', iv: toBase64url(iv), tag: toBase64url(cipher.getAuthTag()) },
      ciphertext: toBase64url(ciphertext),
    };
    return {
      keyId: signingKey.keyId,
      publicKey: signingKey.publicKey,
      encryptedPrivateKey: JSON.stringify(envelope),
      signingKey,
    };
  } finally {
    key.fill(0);
  }
}

async function decrypt(envelope: GuildKeyEnvelope, passphrase: string): Promise<Uint8Array> {
  checkPassphrase(passphrase);
  const key = await deriveKey(passphrase, fromBase64url(envelope.kdf.salt)!, envelope.kdf.logN);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, fromBase64url(envelope.cipher.iv)!, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(additionalData(envelope));
    decipher.setAuthTag(fromBase64url(envelope.cipher.tag)!);
    return new Uint8Array(
      Buffer.concat([decipher.update(fromBase64url(envelope.ciphertext)!), decipher.final()]),
    );
  } catch {
    throw new SigningKeyError(
      'unlock_failed',
      'wrong passphrase, or the encrypted key was altered (AES-GCM authentication failed)',
    );
  } finally {
    key.fill(0);
  }
}
