/**
 * Byte encodings used by signed records, keys and exports. Decoders are strict: an
 * encoding has exactly one accepted spelling, so a record cannot be altered by
 * rewriting a signature or key in an equivalent form (Buffer's own base64url decoder
 * silently skips invalid characters, which is why it is not used alone).
 */
import { createHash } from 'node:crypto';

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const HEX = /^[0-9a-f]*$/;

/** Unpadded base64url (RFC 4648 §5), as in JWK. */
export function toBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Decodes unpadded base64url, or returns undefined if the text is not its one canonical spelling. */
export function fromBase64url(text: unknown, expectedBytes?: number): Uint8Array | undefined {
  if (typeof text !== 'string' || !BASE64URL.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  // Re-encoding catches non-zero padding bits (two spellings of the same bytes).
  if (bytes.toString('base64url') !== text) return undefined;
  if (expectedBytes !== undefined && bytes.length !== expectedBytes) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Decodes lowercase hex of an exact length (in bytes), or returns undefined. */
export function fromHex(text: unknown, expectedBytes: number): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length !== expectedBytes * 2 || !HEX.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export function utf8(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'utf8');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function isSha256Hex(text: unknown): text is string {
  return typeof text === 'string' && text.length === 64 && HEX.test(text);
}
