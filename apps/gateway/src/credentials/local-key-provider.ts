import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import {
  contextAad,
  type DataKey,
  type EncryptionContext,
  type KeyProvider,
  KeyProviderError,
  type WrappedDataKey,
} from './key-provider.js';

/** The master key file: every key by id, and the one new data keys are wrapped under. */
interface MasterKeyFile {
  readonly version: 1;
  readonly current: string;
  readonly keys: readonly { readonly id: string; readonly key: string; readonly createdAt: string }[];
}

const IV_LENGTH = 12;
const TAG_LENGTH = 16;

function newKeyId(): string {
  return `local-${randomBytes(8).toString('hex')}`;
}

const masterKeyFile = z
  .object({
    version: z.literal(1),
    current: z.string().min(1),
    keys: z.array(
      z.object({
        id: z.string().min(1),
        key: z.base64().refine((k) => Buffer.from(k, 'base64').length === 32, '32 bytes'),
        createdAt: z.string(),
      }),
    ),
  })
  .refine((f) => f.keys.some((k) => k.id === f.current), 'the current key is not among the keys');

function parse(file: string, text: string): MasterKeyFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${file} (LOCAL_MASTER_KEY_FILE) is not a master key file: not JSON`);
  }
  const parsed = masterKeyFile.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`${file} (LOCAL_MASTER_KEY_FILE) is not a master key file: ${problems}`);
  }
  return parsed.data;
}

/**
 * Data keys wrapped under master keys of the deployment's own, kept in one file (LOCAL_MASTER_KEY_FILE,
 * mode 0600, made with a first key on first start): the quick start's provider, needing no cloud account.
 * A data key is wrapped with AES-256-GCM under the master key, the encryption context as AAD (as KMS
 * binds it), stored as IV (12 bytes) ‖ tag (16) ‖ ciphertext; a wrong context, key or blob fails with
 * `InvalidCiphertextException`, an unknown key id with `NotFoundException`.
 *
 * The file holds several keys so that rotation can add one (`addKey`, which becomes current), re-wrap
 * every data key under it, and then drop the old one (`removeKey`). Anyone who can read the file can
 * decrypt every credential: it belongs on an encrypted disk readable only by the gateway's user, and
 * production deployments should use AWS KMS instead.
 */
export class LocalKeyProvider implements KeyProvider {
  readonly name = 'local' as const;
  private keys = new Map<string, Buffer>();
  private createdAt = new Map<string, string>();
  private current = '';
  /** The file as last read (inode and mtime): a rotation elsewhere replaces it. */
  private version = '';

  private constructor(readonly file: string) {}

  /** Opens the master key file, making it (and its folder, 0700) with a first key when it is missing. */
  static async open(file: string): Promise<LocalKeyProvider> {
    const provider = new LocalKeyProvider(file);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const id = newKeyId();
    const made: MasterKeyFile = {
      version: 1,
      current: id,
      keys: [{ id, key: randomBytes(32).toString('base64'), createdAt: new Date().toISOString() }],
    };
    // Written whole to a temporary file, then linked into place, which fails if the file exists: of two
    // processes starting at once, one makes the file and the other reads it, never half-written.
    if (
      !(await stat(file).then(
        () => true,
        () => false,
      ))
    ) {
      const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      const handle = await open(tmp, 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify(made, null, 2) + '\n');
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await link(tmp, file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw error;
        }
      } finally {
        await unlink(tmp);
      }
    }
    const mode = (await stat(file)).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new Error(`${file} (LOCAL_MASTER_KEY_FILE) is readable by others (mode ${mode.toString(8)}): chmod 600 it`);
    }
    await provider.reload();
    return provider;
  }

  /** Reads the file again (another process, a rotation, may have added or removed keys). */
  async reload(): Promise<void> {
    const { mtimeMs, ino } = await stat(this.file);
    this.version = `${ino}:${mtimeMs}`;
    const data = parse(this.file, await readFile(this.file, 'utf8'));
    const keys = new Map(data.keys.map((k) => [k.id, Buffer.from(k.key, 'base64')] as const));
    for (const old of this.keys.values()) {
      old.fill(0);
    }
    this.keys = keys;
    this.createdAt = new Map(data.keys.map((k) => [k.id, k.createdAt] as const));
    this.current = data.current;
  }

  currentKeyId(): string {
    return this.current;
  }

  keyIds(): string[] {
    return [...this.keys.keys()];
  }

  async resolveKeyId(keyId: string): Promise<string> {
    await this.master(keyId);
    return keyId;
  }

  /** Adds a fresh master key, makes it current and answers its id. */
  async addKey(): Promise<string> {
    await this.reload();
    const id = newKeyId();
    await this.write({
      version: 1,
      current: id,
      keys: [...this.entries(), { id, key: randomBytes(32).toString('base64'), createdAt: new Date().toISOString() }],
    });
    return id;
  }

  /**
   * Drops a master key that no data key is wrapped under any more (the caller checks: `KeyRotation.status`).
   * The current key cannot be removed.
   */
  async removeKey(keyId: string): Promise<void> {
    await this.reload();
    if (keyId === this.current) {
      throw new KeyProviderError('ValidationException', `${keyId} is the current master key and cannot be removed`);
    }
    await this.write({ version: 1, current: this.current, keys: this.entries().filter((k) => k.id !== keyId) });
  }

  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    // Another process (a rotation) may have made a new key current: new data keys go under it at once.
    const { mtimeMs, ino } = await stat(this.file);
    if (`${ino}:${mtimeMs}` !== this.version) {
      await this.reload();
    }
    const keyId = this.current;
    const plaintext = randomBytes(32);
    return { keyId, plaintext, wrapped: this.seal(await this.master(keyId), plaintext, context) };
  }

  async unwrap(key: WrappedDataKey, context: EncryptionContext): Promise<Buffer> {
    const master = await this.master(key.keyId);
    if (key.wrapped.length !== IV_LENGTH + TAG_LENGTH + 32) {
      throw new KeyProviderError('InvalidCiphertextException', 'the wrapped data key is not one of this provider');
    }
    const decipher = createDecipheriv('aes-256-gcm', master, key.wrapped.subarray(0, IV_LENGTH));
    decipher.setAAD(contextAad(context));
    decipher.setAuthTag(key.wrapped.subarray(IV_LENGTH, IV_LENGTH + TAG_LENGTH));
    try {
      return Buffer.concat([decipher.update(key.wrapped.subarray(IV_LENGTH + TAG_LENGTH)), decipher.final()]);
    } catch {
      throw new KeyProviderError(
        'InvalidCiphertextException',
        'the wrapped data key does not open for this encryption context and key',
      );
    }
  }

  async rewrap(key: WrappedDataKey, context: EncryptionContext, toKeyId: string): Promise<WrappedDataKey> {
    const to = await this.master(toKeyId);
    const plaintext = await this.unwrap(key, context);
    try {
      return { keyId: toKeyId, wrapped: this.seal(to, plaintext, context) };
    } finally {
      plaintext.fill(0);
    }
  }

  close(): Promise<void> {
    for (const key of this.keys.values()) {
      key.fill(0);
    }
    this.keys.clear();
    return Promise.resolve();
  }

  private seal(master: Buffer, plaintext: Buffer, context: EncryptionContext): Buffer {
    const iv = randomBytes(IV_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', master, iv);
    cipher.setAAD(contextAad(context));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ct]);
  }

  /** The master key `keyId`, reading the file again once when this process does not know it. */
  private async master(keyId: string): Promise<Buffer> {
    if (!this.keys.has(keyId)) {
      await this.reload();
    }
    const key = this.keys.get(keyId);
    if (!key) {
      throw new KeyProviderError('NotFoundException', `no master key ${keyId} in LOCAL_MASTER_KEY_FILE`);
    }
    return key;
  }

  private entries(): MasterKeyFile['keys'] {
    return [...this.keys].map(([id, key]) => ({
      id,
      key: key.toString('base64'),
      createdAt: this.createdAt.get(id) ?? '',
    }));
  }

  /** Replaces the file atomically (a new 0600 file renamed over it): a crash leaves the old or the new one. */
  private async write(data: MasterKeyFile): Promise<void> {
    const tmp = `${this.file}.${process.pid}.tmp`;
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(data, null, 2) + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(tmp, 0o600);
    await rename(tmp, this.file);
    await this.reload();
  }
}
