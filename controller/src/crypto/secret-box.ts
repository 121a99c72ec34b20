/**
 * Secrets the controller must be able to read back (an outbound webhook's signing
 * secret: an HMAC needs the secret itself, so it cannot be hashed like a password),
 * sealed at rest with AES-256-GCM under one controller key.
 *
 * The key: EARSHOT_SECRET_KEY (base64 of 32 random bytes) when set; otherwise a key
 * file generated once in the data directory (`secret.key`, mode 0600), so a default
 * install needs no setup. Whoever reads the database alone learns nothing; whoever
 * also reads the key file (or the environment) can open every sealed secret, so back
 * the key up with the database and keep it out of the same place. Replicas sharing
 * one PostgreSQL must share the key: set EARSHOT_SECRET_KEY on each.
 *
 * Sealed form: `v1.<iv>.<tag>.<ciphertext>` (base64url). The AAD binds a sealed value
 * to what it belongs to (e.g. a guild), so it cannot be moved to another row.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { access, link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export const SECRET_KEY_BYTES = 32;
export const SECRET_KEY_FILE = 'secret.key';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 'v1';

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

/** The 32-byte key from its base64 (or base64url) text; undefined when it is not exactly that. */
export function parseSecretKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) return undefined;
  const key = Buffer.from(trimmed, 'base64');
  return key.length === SECRET_KEY_BYTES ? key : undefined;
}

export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== SECRET_KEY_BYTES)
      throw new SecretBoxError(`the key must be ${SECRET_KEY_BYTES} bytes`);
    this.key = Buffer.from(key);
  }

  seal(plaintext: string, aad: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), ciphertext]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  /** Throws SecretBoxError when the value is malformed, sealed under another key, or for another AAD. */
  open(sealed: string, aad: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) throw new SecretBoxError('not a sealed secret');
    const [iv, tag, ciphertext] = parts.slice(1).map((p) => Buffer.from(p, 'base64url')) as [
      Buffer,
      Buffer,
      Buffer,
    ];
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretBoxError('not a sealed secret');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError(
        'the sealed secret does not open with this key (did EARSHOT_SECRET_KEY change?)',
      );
    }
  }
}

/**
 * Reads the key file in `dataDir`, creating it (32 random bytes, base64, mode 0600)
 * on first use. Creation is exclusive, so two processes starting at once agree on one key.
 */
export async function loadOrCreateKeyFile(dataDir: string): Promise<Buffer> {
  const path = join(dataDir, SECRET_KEY_FILE);
  await mkdir(dataDir, { recursive: true });
  if (!(await exists(path))) {
    // Written in full to a temporary name, then linked into place: link() fails if the
    // file exists, so a racing process never reads a half-written key, and the first wins.
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(`${randomBytes(SECRET_KEY_BYTES).toString('base64')}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temporary, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await unlink(temporary);
    }
  }
  const key = parseSecretKey(await readFile(path, 'utf8'));
  if (!key) throw new SecretBoxError(`${path} does not hold a base64 ${SECRET_KEY_BYTES}-byte key`);
  return key;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The controller's box, opened on first use (an install that never stores such a
 * secret never creates a key file). `configuredKey` is EARSHOT_SECRET_KEY, already
 * validated by config.ts.
 */
export function controllerSecretBox(options: {
  configuredKey: string | undefined;
  dataDir: string;
}): () => Promise<SecretBox> {
  let box: Promise<SecretBox> | undefined;
  return () => {
    box ??= (async () => {
      const key = options.configuredKey
        ? parseSecretKey(options.configuredKey)
        : await loadOrCreateKeyFile(options.dataDir);
      if (!key) throw new SecretBoxError(`EARSHOT_SECRET_KEY must be base64 of ${SECRET_KEY_BYTES} bytes`);
      return new SecretBox(key);
    })();
    // A failure (e.g. an unwritable data dir) is retried on the next use.
    box.catch(() => {
      box = undefined;
    });
    return box;
  };
}
