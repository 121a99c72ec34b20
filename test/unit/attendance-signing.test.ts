/**
 * Attendance signing, records: RFC 8032 vectors through both Ed25519 engines, records
 * that node:crypto accepts, every tampering a clear reason, canonical bytes, snowflakes.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import {
  keyIdOf,
  publicKeyFromSecret,
  signEd25519,
  type VerifyEngine,
  verifyEd25519,
} from '../../controller/src/modules/attendance/signing/ed25519.js';
import { toBase64url } from '../../controller/src/modules/attendance/signing/encoding.js';
import { KeyRing } from '../../controller/src/modules/attendance/signing/key-ring.js';
import {
  periodSnapshotPayload,
  RecordPayloadError,
  type SessionReceiptPayload,
  sessionReceiptPayload,
} from '../../controller/src/modules/attendance/signing/payloads.js';
import {
  preparePayload,
  type SignedRecord,
  signPending,
  signRecord,
  verifyRecord,
} from '../../controller/src/modules/attendance/signing/records.js';
import { SigningKey } from '../../controller/src/modules/attendance/signing/signing-key.js';

const hex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));
const ENGINES: VerifyEngine[] = ['node', 'noble'];

// RFC 8032 §7.1. TEST 1024's message (1023 bytes) is in the fixture below.
const RFC8032 = [
  {
    name: 'TEST 1',
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
  {
    name: 'TEST 1024',
    secret: 'f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5',
    publicKey: '278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e',
    message:
      '08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f27088d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128bab27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb751fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34dff7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e488acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380db2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0',
    signature:
      '0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03',
  },
  {
    name: 'TEST SHA(abc)',
    secret: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    publicKey: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    message: createHash('sha512').update('abc').digest('hex'),
    signature:
      'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
  },
];

const GUILD = '1234567890123456789';
const SEED = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
const OTHER_SEED = hex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb');

function receipt(overrides: Partial<SessionReceiptPayload> = {}): SessionReceiptPayload {
  return {
    ...sessionReceiptPayload({
      sessionId: '0b5a3c1e-4d2f-4c6a-9f1e-2a3b4c5d6e7f',
      guildId: GUILD,
      userId: '987654321098765432',
      channelId: '111222333444555666',
      startedAt: Date.UTC(2025, 0, 6, 18, 0, 0),
      endedAt: Date.UTC(2025, 0, 6, 19, 30, 0, 250),
      activeSeconds: 4800,
      pausedSeconds: 600,
      outageSeconds: 0,
      closeReason: 'left',
    }),
    ...overrides,
  };
}

describe('Ed25519: RFC 8032 §7.1 vectors', () => {
  it('TEST 1024 message is the 1023 bytes of the RFC', () => {
    expect(hex(RFC8032[3]!.message).length).toBe(1023);
    expect(RFC8032[4]!.message.slice(0, 16)).toBe('ddaf35a193617aba');
  });

  for (const v of RFC8032) {
    it(`${v.name}: public key and signature reproduced, verified by both engines`, async () => {
      const publicKey = await publicKeyFromSecret(hex(v.secret));
      expect(Buffer.from(publicKey).toString('hex')).toBe(v.publicKey);
      const signature = await signEd25519(hex(v.message), hex(v.secret));
      expect(Buffer.from(signature).toString('hex')).toBe(v.signature);
      for (const engine of ENGINES) {
        expect(await verifyEd25519(signature, hex(v.message), publicKey, engine)).toBe(true);
        const flipped = Uint8Array.from(signature);
        flipped[0]! ^= 1;
        expect(await verifyEd25519(flipped, hex(v.message), publicKey, engine)).toBe(false);
      }
    });
  }

  it('never throws on garbage keys or signatures', async () => {
    for (const engine of ENGINES) {
      expect(await verifyEd25519(new Uint8Array(64), new Uint8Array(0), new Uint8Array(32), engine)).toBe(
        false,
      );
      expect(await verifyEd25519(new Uint8Array(63), new Uint8Array(0), new Uint8Array(32), engine)).toBe(
        false,
      );
      expect(
        await verifyEd25519(new Uint8Array(64), new Uint8Array(0), new Uint8Array(31).fill(255), engine),
      ).toBe(false);
      expect(
        await verifyEd25519(
          new Uint8Array(64).fill(255),
          new Uint8Array(1),
          new Uint8Array(32).fill(255),
          engine,
        ),
      ).toBe(false);
    }
  });
});

describe('signed records', () => {
  it('keyId is the first 16 hex of SHA-256 of the raw public key; publicKey is base64url', async () => {
    const key = await SigningKey.fromSecret(GUILD, SEED);
    const raw = hex(RFC8032[0]!.publicKey);
    expect(key.publicKey).toBe(toBase64url(raw));
    expect(key.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key.keyId).toBe(createHash('sha256').update(raw).digest('hex').slice(0, 16));
    expect(keyIdOf(raw)).toBe(key.keyId);
  });

  it('a record signed here verifies with node:crypto (JWK and SPKI) and is what OpenSSL would sign', async () => {
    const key = await SigningKey.fromSecret(GUILD, SEED);
    const record = await signRecord(key, receipt());
    const bytes = Buffer.from(record.signedBytes, 'utf8');
    const signature = Buffer.from(record.signature, 'base64url');
    expect(record.payloadHash).toBe(createHash('sha256').update(bytes).digest('hex'));
    const jwk = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.publicKey }, format: 'jwk' });
    expect(nodeVerify(null, bytes, jwk, signature)).toBe(true);
    const spki = Buffer.concat([
      Buffer.from('302a300506032b6570032100', 'hex'),
      Buffer.from(key.publicKey, 'base64url'),
    ]);
    const spkiKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    expect(nodeVerify(null, bytes, spkiKey, signature)).toBe(true);
    // Ed25519 is deterministic: OpenSSL signs the same bytes to the same signature.
    const privateKey = createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: key.publicKey, d: toBase64url(SEED) },
      format: 'jwk',
    });
    expect(nodeSign(null, bytes, privateKey).toString('base64url')).toBe(record.signature);
  });

  for (const engine of ENGINES) {
    describe(`verifyRecord (${engine})`, () => {
      const setup = async () => {
        const key = await SigningKey.fromSecret(GUILD, SEED);
        return { key, record: await signRecord(key, receipt()) };
      };
      const verify = (record: unknown, publicKey: string | Uint8Array) =>
        verifyRecord(record, publicKey, { engine });

      it('accepts an intact record and returns its payload', async () => {
        const { key, record } = await setup();
        const result = await verify(record, key.publicKey);
        expect(result).toMatchObject({ valid: true, keyId: key.keyId, payloadHash: record.payloadHash });
        if (result.valid) expect(result.payload).toEqual(receipt());
        expect((await verify(record, Buffer.from(key.publicKey, 'base64url'))).valid).toBe(true);
      });

      it('a flipped byte in signedBytes: payload_hash_mismatch, and bad_signature once the hash is redone', async () => {
        const { key, record } = await setup();
        const flipped = record.signedBytes.replace('"left"', '"lefu"');
        expect(flipped).not.toBe(record.signedBytes);
        expect(await verify({ ...record, signedBytes: flipped }, key.publicKey)).toMatchObject({
          valid: false,
          reason: 'payload_hash_mismatch',
        });
        const rehashed = { ...record, signedBytes: flipped, payloadHash: sha256(flipped) };
        expect(await verify(rehashed, key.publicKey)).toMatchObject({
          valid: false,
          reason: 'bad_signature',
        });
      });

      it('a changed field, re-canonicalised and re-hashed: bad_signature', async () => {
        const { key, record } = await setup();
        const payload = JSON.parse(record.signedBytes) as SessionReceiptPayload;
        payload.active_seconds += 3600;
        const signedBytes = canonicalize(payload)!;
        const forged = { ...record, signedBytes, payloadHash: sha256(signedBytes) };
        const result = await verify(forged, key.publicKey);
        expect(result).toMatchObject({ valid: false, reason: 'bad_signature' });
        if (!result.valid) expect(result.message).toContain(key.keyId);
      });

      it('a wrong key: key_id_mismatch, and bad_signature if the key id is forged too', async () => {
        const { record } = await setup();
        const other = await SigningKey.fromSecret(GUILD, OTHER_SEED);
        expect(await verify(record, other.publicKey)).toMatchObject({
          valid: false,
          reason: 'key_id_mismatch',
        });
        expect(await verify({ ...record, keyId: other.keyId }, other.publicKey)).toMatchObject({
          valid: false,
          reason: 'bad_signature',
        });
      });

      it('a truncated or re-spelled signature: malformed_signature', async () => {
        const { key, record } = await setup();
        for (const signature of [
          record.signature.slice(0, -2),
          record.signature.slice(0, 43),
          '',
          `${record.signature}==`,
        ])
          expect(await verify({ ...record, signature }, key.publicKey)).toMatchObject({
            valid: false,
            reason: 'malformed_signature',
          });
        // 64 bytes leave 4 spare bits in the last character: another spelling of the same
        // bytes (which Buffer would accept) is refused.
        const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
        const alias =
          record.signature.slice(0, -1) + ALPHABET[ALPHABET.indexOf(record.signature.at(-1)!) | 1];
        expect(Buffer.from(alias, 'base64url').equals(Buffer.from(record.signature, 'base64url'))).toBe(true);
        expect(await verify({ ...record, signature: alias }, key.publicKey)).toMatchObject({
          reason: 'malformed_signature',
        });
      });

      it('never throws on garbage', async () => {
        const { key, record } = await setup();
        const garbage: unknown[] = [
          null,
          undefined,
          42,
          'record',
          [],
          {},
          { ...record, signedBytes: 7 },
          { ...record, keyId: undefined },
          { signedBytes: '', keyId: key.keyId, payloadHash: sha256(''), signature: record.signature },
        ];
        for (const g of garbage) {
          const result = await verify(g, key.publicKey);
          expect(result.valid).toBe(false);
        }
        expect(await verify(record, 'not a key')).toMatchObject({ reason: 'malformed_public_key' });
        expect(await verify(record, new Uint8Array(31))).toMatchObject({ reason: 'malformed_public_key' });
        expect(await verify(null, key.publicKey)).toMatchObject({ reason: 'malformed_record' });
      });

      it('a valid signature over non-canonical or unknown-version bytes is still refused', async () => {
        const { key } = await setup();
        const signRaw = async (signedBytes: string): Promise<SignedRecord> => ({
          signedBytes,
          keyId: key.keyId,
          payloadHash: sha256(signedBytes),
          signature: toBase64url(await key.sign(new TextEncoder().encode(signedBytes))),
        });
        const pretty = JSON.stringify(receipt(), null, 2);
        expect(await verify(await signRaw(pretty), key.publicKey)).toMatchObject({ reason: 'not_canonical' });
        const v2 = canonicalize({ ...receipt(), signing_version: 2 })!;
        expect(await verify(await signRaw(v2), key.publicKey)).toMatchObject({
          reason: 'unsupported_signing_version',
        });
        const extra = canonicalize({ ...receipt(), bonus_seconds: 5 })!;
        expect(await verify(await signRaw(extra), key.publicKey)).toMatchObject({
          reason: 'malformed_payload',
        });
        expect(await verify(await signRaw('{not json'), key.publicKey)).toMatchObject({
          reason: 'malformed_payload',
        });
      });
    });
  }
});

describe('canonical bytes', () => {
  it('key order and number spelling (1, 1.0, 1e0) do not change the signed bytes', () => {
    const base = receipt();
    const texts = [
      JSON.stringify(base),
      JSON.stringify(Object.fromEntries(Object.entries(base).reverse())),
      JSON.stringify(base)
        .replace('"outage_seconds":0', '"outage_seconds":0.0')
        .replace('"signing_version":1', '"signing_version":1.0'),
      JSON.stringify(base)
        .replace('"signing_version":1', '"signing_version":1e0')
        .replace('"active_seconds":4800', '"active_seconds":4.8e3'),
    ];
    expect(texts[2]).toContain('1.0');
    expect(texts[3]).toContain('1e0');
    const prepared = texts.map((t) => preparePayload(JSON.parse(t)));
    for (const p of prepared) expect(p).toEqual(prepared[0]);
    expect(prepared[0]!.signedBytes).toBe(
      '{"active_seconds":4800,"channel_id":"111222333444555666","close_reason":"left",' +
        '"ended_at":"2025-01-06T19:30:00.250Z","guild_id":"1234567890123456789","outage_seconds":0,' +
        '"paused_seconds":600,"record_type":"session_receipt","session_id":"0b5a3c1e-4d2f-4c6a-9f1e-2a3b4c5d6e7f",' +
        '"signing_version":1,"started_at":"2025-01-06T18:00:00.000Z","user_id":"987654321098765432"}',
    );
  });

  it('Discord snowflakes beyond 2^53 survive as strings, through signing and JSON round trips', async () => {
    const big = '18446744073709551615'; // 2^64 − 1, the largest snowflake
    const past53 = '9007199254740993'; // 2^53 + 1, not representable as a double
    expect(Number(past53)).toBe(2 ** 53);
    const key = await SigningKey.fromSecret(big, SEED);
    const record = await signRecord(key, receipt({ guild_id: big, user_id: past53, channel_id: big }));
    expect(record.signedBytes).toContain(`"user_id":"${past53}"`);
    const roundTripped = JSON.parse(JSON.stringify(record)) as SignedRecord;
    const result = await verifyRecord(roundTripped, key.publicKey);
    expect(result.valid && result.payload.guild_id).toBe(big);
    expect(result.valid && (result.payload as SessionReceiptPayload).user_id).toBe(past53);
  });

  it('refuses ids that are numbers or out of range, bad instants, and negative or fractional seconds', () => {
    const bad: Record<string, unknown>[] = [
      { user_id: 987654321 },
      { user_id: '18446744073709551616' },
      { user_id: '0123' },
      { started_at: '2025-01-06T18:00:00Z' },
      { started_at: '2025-02-30T18:00:00.000Z' },
      { ended_at: '2025-01-06T17:00:00.000Z' },
      { active_seconds: -1 },
      { active_seconds: 1.5 },
      { close_reason: 'Left!' },
      { extra: true },
    ];
    for (const override of bad)
      expect(() => preparePayload({ ...receipt(), ...override } as SessionReceiptPayload)).toThrow(
        RecordPayloadError,
      );
  });

  it('period snapshot: builder output verifies, duplicate leaderboard users refused', async () => {
    const key = await SigningKey.fromSecret(GUILD, SEED);
    const input = {
      guildId: GUILD,
      periodIndex: 3,
      periodStartedAt: new Date('2025-01-06T00:00:00.000Z'),
      periodEndedAt: new Date('2025-01-13T00:00:00.000Z'),
      leaderboard: [{ userId: '987654321098765432', activeSeconds: 4800, rank: 1 }],
      sessionPayloadHashes: [preparePayload(receipt()).payloadHash],
    };
    const record = await signRecord(key, periodSnapshotPayload(input));
    expect((await verifyRecord(record, key.publicKey)).valid).toBe(true);
    expect(() =>
      periodSnapshotPayload({ ...input, leaderboard: [...input.leaderboard, ...input.leaderboard] }),
    ).toThrow(/twice/);
  });
});

describe('signing policy helpers', () => {
  it('signRecord refuses another guild’s payload', async () => {
    const key = await SigningKey.fromSecret(GUILD, SEED);
    await expect(signRecord(key, receipt({ guild_id: '42' }))).rejects.toThrow(RecordPayloadError);
  });

  it('signPending signs in order, reports (never drops) what it cannot sign', async () => {
    const key = await SigningKey.fromSecret(GUILD, SEED);
    const pending = [
      receipt({ session_id: 'a' }),
      receipt({ session_id: 'b', guild_id: '42' }),
      { ...receipt({ session_id: 'c' }), active_seconds: -5 },
      receipt({ session_id: 'd' }),
    ];
    const progress: number[] = [];
    const results = await signPending(key, pending, (done) => progress.push(done));
    expect(results.map((r) => r.ok)).toEqual([true, false, false, true]);
    expect(progress).toEqual([1, 2, 3, 4]);
    const first = results[0]!;
    expect(first.ok && first.record.payloadHash).toBe(preparePayload(pending[0]!).payloadHash);
    const last = results[3]!;
    expect(last.ok && (await verifyRecord(last.record, key.publicKey)).valid).toBe(true);
  });

  it('a SigningKey never shows its secret, and cannot sign once destroyed', async () => {
    const key = await SigningKey.fromSecret(GUILD, SEED);
    const { inspect } = await import('node:util');
    const shown = `${JSON.stringify(key)} ${inspect(key, { showHidden: true, depth: 5 })} ${String(key)}`;
    for (const secret of [
      Buffer.from(SEED).toString('hex'),
      toBase64url(SEED),
      Buffer.from(SEED).toString('base64'),
    ])
      expect(shown).not.toContain(secret);
    key.destroy();
    await expect(key.sign(new Uint8Array(1))).rejects.toThrow(/destroyed/);
  });
});

describe('KeyRing', () => {
  it('after rotation, records of the retired key still verify; unknown keys are named', async () => {
    const oldKey = await SigningKey.fromSecret(GUILD, SEED);
    const newKey = await SigningKey.fromSecret(GUILD, OTHER_SEED);
    const oldRecord = await signRecord(oldKey, receipt());
    const ring = KeyRing.from({ active: oldKey }).rotate(newKey, new Date('2025-02-01T00:00:00.000Z'));
    const newRecord = await signRecord(newKey, receipt({ session_id: 'next' }));
    expect(ring.active?.keyId).toBe(newKey.keyId);
    expect(ring.retired).toEqual([
      { keyId: oldKey.keyId, publicKey: oldKey.publicKey, retiredAt: '2025-02-01T00:00:00.000Z' },
    ]);
    expect((await ring.verify(oldRecord)).valid).toBe(true);
    expect((await ring.verify(newRecord)).valid).toBe(true);
    expect(await KeyRing.from({ active: newKey }).verify(oldRecord)).toMatchObject({ reason: 'unknown_key' });
    expect(await ring.verify('junk')).toMatchObject({ reason: 'malformed_record' });
    expect(() => KeyRing.from({ active: { keyId: oldKey.keyId, publicKey: newKey.publicKey } })).toThrow(
      TypeError,
    );
    expect(() => ring.rotate(oldKey, new Date())).toThrow(/already/);
  });
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
