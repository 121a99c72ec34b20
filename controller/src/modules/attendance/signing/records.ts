/**
 * Signed records. The signed message is the UTF-8 of `signedBytes`, the RFC 8785
 * canonical JSON of a payload; `signedBytes` is stored and exported verbatim, so a
 * verifier never has to re-serialise anything to check a signature. `payloadHash` is
 * SHA-256 (hex) of the same bytes and is what a period snapshot binds its receipts by.
 *
 *   record    = { signedBytes, keyId, payloadHash, signature }
 *   signature = base64url(Ed25519(secretKey, UTF-8(signedBytes)))   64 bytes
 *   keyId     = first 16 hex of SHA-256(raw 32-byte public key)
 */
import canonicalize from 'canonicalize';
import { keyIdOf, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, type VerifyEngine, verifyEd25519 } from './ed25519.js';
import { fromBase64url, isSha256Hex, sha256Hex, toBase64url, utf8 } from './encoding.js';
import {
  type AttendancePayload,
  assertPayload,
  payloadProblem,
  RecordPayloadError,
  SIGNING_VERSION,
} from './payloads.js';

export interface SignedRecord {
  /** RFC 8785 canonical JSON of the payload: the exact text that was signed. */
  signedBytes: string;
  keyId: string;
  /** SHA-256 hex of UTF-8(signedBytes). */
  payloadHash: string;
  /** base64url (unpadded) of the 64-byte Ed25519 signature. */
  signature: string;
}

/** The canonical form of a payload, computable while the key is locked. */
export interface PreparedPayload {
  signedBytes: string;
  payloadHash: string;
}

/** What signs records: a SigningKey (signing-key.ts). */
export interface RecordSigner {
  readonly guildId: string;
  readonly keyId: string;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

export type RecordFailureReason =
  | 'malformed_record'
  | 'malformed_public_key'
  | 'unknown_key'
  | 'key_id_mismatch'
  | 'malformed_signature'
  | 'payload_hash_mismatch'
  | 'bad_signature'
  | 'unsupported_signing_version'
  | 'malformed_payload'
  | 'not_canonical';

export type RecordVerification =
  | { valid: true; keyId: string; payloadHash: string; payload: AttendancePayload }
  | { valid: false; reason: RecordFailureReason; message: string };

export interface VerifyOptions {
  engine?: VerifyEngine;
}

/** Validates and canonicalises a payload; throws RecordPayloadError if it is not signable. */
export function preparePayload(payload: AttendancePayload): PreparedPayload {
  assertPayload(payload);
  // Validation admits only strings, safe integers, arrays and plain objects, so this is defined.
  const signedBytes = canonicalize(payload)!;
  return { signedBytes, payloadHash: sha256Hex(signedBytes) };
}

export async function signRecord(key: RecordSigner, payload: AttendancePayload): Promise<SignedRecord> {
  const { signedBytes, payloadHash } = preparePayload(payload);
  if (payload.guild_id !== key.guildId)
    throw new RecordPayloadError(
      `refusing to sign guild ${payload.guild_id}'s record with guild ${key.guildId}'s key`,
    );
  const signature = await key.sign(utf8(signedBytes));
  return { signedBytes, keyId: key.keyId, payloadHash, signature: toBase64url(signature) };
}

export type PendingSignResult = { ok: true; record: SignedRecord } | { ok: false; error: string };

/**
 * Signs what was stored unsigned while the key was locked. One result per payload,
 * same order; a payload that cannot be signed is reported, never dropped, and does not
 * stop the rest.
 */
export async function signPending(
  key: RecordSigner,
  pendingPayloads: readonly AttendancePayload[],
  onProgress?: (done: number, total: number) => void,
): Promise<PendingSignResult[]> {
  const results: PendingSignResult[] = [];
  for (const payload of pendingPayloads) {
    try {
      results.push({ ok: true, record: await signRecord(key, payload) });
    } catch (error) {
      results.push({ ok: false, error: error instanceof Error ? error.message : String(error) });
    }
    onProgress?.(results.length, pendingPayloads.length);
  }
  return results;
}

const fail = (reason: RecordFailureReason, message: string): RecordVerification => ({
  valid: false,
  reason,
  message,
});

/** The record's four fields, or undefined if it does not have that shape. */
export function recordShape(record: unknown): SignedRecord | undefined {
  if (typeof record !== 'object' || record === null) return undefined;
  const { signedBytes, keyId, payloadHash, signature } = record as Record<string, unknown>;
  if (
    typeof signedBytes !== 'string' ||
    typeof keyId !== 'string' ||
    typeof payloadHash !== 'string' ||
    typeof signature !== 'string'
  )
    return undefined;
  return { signedBytes, keyId, payloadHash, signature };
}

/**
 * Checks a record against one public key (base64url string or 32 raw bytes). Never
 * throws: anything wrong, including garbage input, is `{ valid: false, reason, message }`.
 */
export async function verifyRecord(
  record: unknown,
  publicKey: string | Uint8Array,
  options: VerifyOptions = {},
): Promise<RecordVerification> {
  const fields = recordShape(record);
  if (!fields)
    return fail('malformed_record', 'not a signed record ({ signedBytes, keyId, payloadHash, signature })');
  const key = decodePublicKey(publicKey);
  if (!key) return fail('malformed_public_key', 'public key is not 32 bytes of base64url');
  const { bytes: keyBytes, keyId } = key;
  if (fields.keyId !== keyId)
    return fail('key_id_mismatch', `record names key ${fields.keyId}, but was checked against key ${keyId}`);
  const signature = fromBase64url(fields.signature, SIGNATURE_BYTES);
  if (!signature)
    return fail(
      'malformed_signature',
      `signature is not ${SIGNATURE_BYTES} bytes of unpadded base64url (truncated or altered)`,
    );
  const message = utf8(fields.signedBytes);
  const payloadHash = sha256Hex(message);
  if (!isSha256Hex(fields.payloadHash) || fields.payloadHash !== payloadHash)
    return fail(
      'payload_hash_mismatch',
      'payloadHash is not the SHA-256 of signedBytes: the content changed',
    );
  if (!(await verifyEd25519(signature, message, keyBytes, options.engine)))
    return fail('bad_signature', `signature does not match signedBytes under key ${keyId}`);
  return checkSignedPayload(fields.signedBytes, keyId, payloadHash);
}

// Verifying an export checks every record against one of a few keys: decode each once.
const decodedKeys = new Map<string, { bytes: Uint8Array; keyId: string }>();
const DECODED_KEYS_LIMIT = 64;

function decodePublicKey(publicKey: unknown): { bytes: Uint8Array; keyId: string } | undefined {
  if (publicKey instanceof Uint8Array)
    return publicKey.length === PUBLIC_KEY_BYTES
      ? { bytes: publicKey, keyId: keyIdOf(publicKey) }
      : undefined;
  if (typeof publicKey !== 'string') return undefined;
  let key = decodedKeys.get(publicKey);
  if (!key) {
    const bytes = fromBase64url(publicKey, PUBLIC_KEY_BYTES);
    if (!bytes) return undefined;
    key = { bytes, keyId: keyIdOf(bytes) };
    if (decodedKeys.size >= DECODED_KEYS_LIMIT) decodedKeys.clear();
    decodedKeys.set(publicKey, key);
  }
  return key;
}

// A valid signature over bytes that are not a canonical version-1 payload is still
// rejected: the meaning of what was signed must be unambiguous.
function checkSignedPayload(signedBytes: string, keyId: string, payloadHash: string): RecordVerification {
  let payload: unknown;
  try {
    payload = JSON.parse(signedBytes);
  } catch {
    return fail('malformed_payload', 'signedBytes is not JSON');
  }
  const version = (payload as { signing_version?: unknown } | null)?.signing_version;
  if (typeof payload === 'object' && payload !== null && version !== SIGNING_VERSION)
    return fail('unsupported_signing_version', `signing_version ${JSON.stringify(version)} is not supported`);
  const problem = payloadProblem(payload);
  if (problem) return fail('malformed_payload', problem);
  if (canonicalize(payload) !== signedBytes)
    return fail('not_canonical', 'signedBytes is not RFC 8785 canonical JSON');
  return { valid: true, keyId, payloadHash, payload: payload as AttendancePayload };
}
