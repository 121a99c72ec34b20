/**
 * Attendance signing, keys: a guild key generated under a passphrase (scrypt →
 * AES-256-GCM envelope), unlocked, refused on a wrong passphrase or any tampering.
 * Tests use scrypt N = 2^10; one test checks the production default is 2^17.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  changePassphrase,
  DEFAULT_SCRYPT_LOG_N,
  type GuildKeyEnvelope,
  generateGuildKey,
  readEnvelope,
  SigningKeyError,
  unlock,
} from '../../controller/src/modules/attendance/signing/key-envelope.js';
import { sessionReceiptPayload } from '../../controller/src/modules/attendance/signing/payloads.js';
import { signRecord, verifyRecord } from '../../controller/src/modules/attendance/signing/records.js';

const GUILD = '1234567890123456789';
const OTHER_GUILD = '223456789012345678';
const PASSPHRASE = 'correct horse battery staple';
const FAST = { scryptLogN: 10 };

const generate = () => generateGuildKey({ guildId: GUILD, passphrase: PASSPHRASE, ...FAST });

/** Rewrites one field of an envelope (dotted path) and returns the new JSON. */
function tamper(encrypted: string, edit: (e: GuildKeyEnvelope) => void): string {
  const envelope = JSON.parse(encrypted) as GuildKeyEnvelope;
  edit(envelope);
  return JSON.stringify(envelope);
}

function flipBase64url(text: string): string {
  const bytes = Buffer.from(text, 'base64url');
  bytes[0]! ^= 0x01;
  return bytes.toString('base64url');
}

async function unlockError(
  encrypted: string,
  passphrase = PASSPHRASE,
  expected = {},
): Promise<SigningKeyError> {
  const error = await unlock(encrypted, passphrase, expected).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SigningKeyError);
  return error as SigningKeyError;
}

function sampleReceipt() {
  return sessionReceiptPayload({
    sessionId: 's-1',
    guildId: GUILD,
    userId: '987654321098765432',
    channelId: '111222333444555666',
    startedAt: 0,
    endedAt: 60_000,
    activeSeconds: 60,
    pausedSeconds: 0,
    outageSeconds: 0,
    closeReason: 'left',
  });
}

describe('guild key envelope', () => {
  it('generates a key whose envelope unlocks to a key that signs verifiable records', async () => {
    const generated = await generate();
    const raw = Buffer.from(generated.publicKey, 'base64url');
    expect(raw.length).toBe(32);
    expect(generated.keyId).toBe(createHash('sha256').update(raw).digest('hex').slice(0, 16));
    const envelope = readEnvelope(generated.encryptedPrivateKey);
    expect(envelope).toMatchObject({
      version: 1,
      kind: 'earshot.attendance.guild-key',
      guildId: GUILD,
      keyId: generated.keyId,
      publicKey: generated.publicKey,
      kdf: { name: 'scrypt', logN: 10, r: 8, p: 1 },
      cipher: { name: 'aes-256-gcm' },
    });
    expect(Buffer.from(envelope.kdf.salt, 'base64url').length).toBe(16);
    expect(Buffer.from(envelope.cipher.iv, 'base64url').length).toBe(12);
    expect(Buffer.from(envelope.cipher.tag, 'base64url').length).toBe(16);

    const key = await unlock(generated.encryptedPrivateKey, PASSPHRASE, { guildId: GUILD });
    expect(key.toJSON()).toEqual({ guildId: GUILD, keyId: generated.keyId, publicKey: generated.publicKey });
    const record = await signRecord(key, sampleReceipt());
    expect((await verifyRecord(record, generated.publicKey)).valid).toBe(true);
    // The key returned at generation signs the same bytes to the same signature (Ed25519 is deterministic).
    expect((await signRecord(generated.signingKey, sampleReceipt())).signature).toBe(record.signature);
  });

  it('uses fresh salt and IV every time', async () => {
    const [a, b] = [
      readEnvelope((await generate()).encryptedPrivateKey),
      readEnvelope((await generate()).encryptedPrivateKey),
    ];
    expect(a.kdf.salt).not.toBe(b.kdf.salt);
    expect(a.cipher.iv).not.toBe(b.cipher.iv);
    expect(a.keyId).not.toBe(b.keyId);
  });

  it('defaults to scrypt N = 2^17, r = 8, p = 1', async () => {
    expect(DEFAULT_SCRYPT_LOG_N).toBe(17);
    const generated = await generateGuildKey({ guildId: GUILD, passphrase: PASSPHRASE });
    expect(readEnvelope(generated.encryptedPrivateKey).kdf).toMatchObject({ logN: 17, r: 8, p: 1 });
  });

  it('a wrong passphrase fails with a typed error', async () => {
    const { encryptedPrivateKey } = await generate();
    const error = await unlockError(encryptedPrivateKey, 'correct horse battery stapler');
    expect(error.reason).toBe('unlock_failed');
    expect(error.message).toMatch(/wrong passphrase/);
    expect((await unlockError(encryptedPrivateKey, '')).reason).toBe('invalid_passphrase');
  });

  it('the passphrase is NFKC-normalised (composed and decomposed é unlock alike)', async () => {
    const { encryptedPrivateKey } = await generateGuildKey({
      guildId: GUILD,
      passphrase: 'caf\u00e9 au lait',
      ...FAST,
    });
    await expect(unlock(encryptedPrivateKey, 'cafe\u0301 au lait')).resolves.toBeDefined();
  });

  it('tampered ciphertext, IV, tag, or AAD-bound fields fail to unlock', async () => {
    const { encryptedPrivateKey } = await generate();
    const tampered: Record<string, string> = {
      ciphertext: tamper(encryptedPrivateKey, (e) => {
        e.ciphertext = flipBase64url(e.ciphertext);
      }),
      iv: tamper(encryptedPrivateKey, (e) => {
        e.cipher.iv = flipBase64url(e.cipher.iv);
      }),
      tag: tamper(encryptedPrivateKey, (e) => {
        e.cipher.tag = flipBase64url(e.cipher.tag);
      }),
      'AAD guild id': tamper(encryptedPrivateKey, (e) => {
        e.guildId = OTHER_GUILD;
      }),
      salt: tamper(encryptedPrivateKey, (e) => {
        e.kdf.salt = flipBase64url(e.kdf.salt);
      }),
      'scrypt cost': tamper(encryptedPrivateKey, (e) => {
        e.kdf.logN = 11;
      }),
    };
    for (const [what, encrypted] of Object.entries(tampered)) {
      const error = await unlockError(encrypted);
      expect(error.reason, what).toBe('unlock_failed');
    }
  });

  it('swapping in another key id or public key is refused before decrypting', async () => {
    const a = await generate();
    const b = await generate();
    const swapped = tamper(a.encryptedPrivateKey, (e) => {
      e.keyId = b.keyId;
      e.publicKey = b.publicKey;
    });
    // Consistent but not what was encrypted: the AAD no longer matches.
    expect((await unlockError(swapped)).reason).toBe('unlock_failed');
    const inconsistent = tamper(a.encryptedPrivateKey, (e) => {
      e.keyId = b.keyId;
    });
    expect((await unlockError(inconsistent)).reason).toBe('malformed_envelope');
  });

  it('refuses an envelope of another guild when the caller names its guild', async () => {
    const { encryptedPrivateKey } = await generate();
    expect((await unlockError(encryptedPrivateKey, PASSPHRASE, { guildId: OTHER_GUILD })).reason).toBe(
      'guild_mismatch',
    );
  });

  it('refuses malformed, unknown-version, and unreasonably costly envelopes', async () => {
    const { encryptedPrivateKey } = await generate();
    const cases: [string, string][] = [
      ['not json', 'malformed_envelope'],
      ['{"kind":"something else"}', 'malformed_envelope'],
      [tamper(encryptedPrivateKey, (e) => Object.assign(e, { version: 2 })), 'unsupported_envelope'],
      [tamper(encryptedPrivateKey, (e) => Object.assign(e.kdf, { logN: 30 })), 'malformed_envelope'],
      [tamper(encryptedPrivateKey, (e) => Object.assign(e.kdf, { r: 1 })), 'malformed_envelope'],
      [tamper(encryptedPrivateKey, (e) => Object.assign(e.cipher, { iv: 'AAAA' })), 'malformed_envelope'],
      [tamper(encryptedPrivateKey, (e) => Object.assign(e, { ciphertext: '' })), 'malformed_envelope'],
    ];
    for (const [encrypted, reason] of cases) expect((await unlockError(encrypted)).reason).toBe(reason);
  });

  it('refuses a scrypt cost below the test floor at generation', async () => {
    await expect(generateGuildKey({ guildId: GUILD, passphrase: PASSPHRASE, scryptLogN: 4 })).rejects.toThrow(
      RangeError,
    );
  });

  it('changePassphrase keeps the key and its id; only the new passphrase unlocks', async () => {
    const generated = await generate();
    const rewrapped = await changePassphrase(
      generated.encryptedPrivateKey,
      PASSPHRASE,
      'new passphrase',
      FAST,
    );
    expect(readEnvelope(rewrapped).keyId).toBe(generated.keyId);
    expect((await unlock(rewrapped, 'new passphrase')).publicKey).toBe(generated.publicKey);
    expect((await unlockError(rewrapped, PASSPHRASE)).reason).toBe('unlock_failed');
    await expect(changePassphrase(generated.encryptedPrivateKey, 'wrong', 'x', FAST)).rejects.toThrow(
      SigningKeyError,
    );
  });
});
