import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small AWS KMS speaking KMS's own wire protocol (AWS JSON 1.1, `POST /`, `x-amz-target:
 * TrentService.<Op>`), for tests driven by the real `@aws-sdk/client-kms` (../shared/brokers/PROTOCOLS.md,
 * section C). Requests are SigV4-signed by the SDK; the signature is not checked.
 *
 * Ciphertext blobs are laid out as moto's and localstack's are: the 36-character key id, a 12-byte IV, the
 * 16-byte GCM tag, then AES-256-GCM ciphertext under the key's material, with the encryption context as
 * AAD (each entry's key then value, UTF-8, entries sorted by key). A blob decrypted with another context,
 * or altered, fails with `InvalidCiphertextException`. Errors carry real KMS's codes and HTTP statuses
 * (NotFoundException 404, DisabledException and KMSInvalidStateException 409, InvalidCiphertextException,
 * IncorrectKeyException and ValidationException 400), and `KeyId` is answered as the key's ARN. Also
 * ListKeys, EnableKey, DisableKey, ScheduleKeyDeletion, CreateAlias and UpdateAlias.
 */
export interface FakeKms {
  /** `http://127.0.0.1:<port>`: the KMSClient `endpoint`. */
  readonly url: string;
  readonly region: string;
  readonly accountId: string;
  /** Every operation called so far, in order (`GenerateDataKey`, `Decrypt`...). */
  readonly calls: readonly string[];
  /** Makes a key (as CreateKey) and answers its id; `alias` (`alias/...`) names it too. */
  createKey(alias?: string): string;
  disableKey(keyId: string): void;
  enableKey(keyId: string): void;
  /** The key's state (`Enabled`, `Disabled`, `PendingDeletion`). */
  keyState(keyId: string): KeyState;
  arnOf(keyId: string): string;
  /** While down, every request's connection is dropped unanswered (KMS unreachable), keys kept. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

interface FakeKey {
  readonly id: string;
  readonly arn: string;
  readonly material: Buffer;
  readonly createdAt: number;
  readonly description: string;
  state: KeyState;
}

/** A KMS error as the service sends it: `{"__type": code, "message"}` with the code's HTTP status. */
class KmsError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (what: string) => new KmsError('NotFoundException', 404, `Key '${what}' does not exist`);
const invalidCiphertext = () => new KmsError('InvalidCiphertextException', 400, '');
const validation = (message: string) => new KmsError('ValidationException', 400, message);

const KEY_ID_LENGTH = 36;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;

/** The AAD of an encryption context: each entry's key then value, UTF-8, sorted by key (as moto does). */
function contextAad(context: unknown): Buffer {
  if (context === undefined || context === null) {
    return Buffer.alloc(0);
  }
  if (typeof context !== 'object' || Array.isArray(context)) {
    throw validation('EncryptionContext must be a map of strings');
  }
  const entries = Object.entries(context as Record<string, unknown>);
  for (const [, v] of entries) {
    if (typeof v !== 'string') {
      throw validation('EncryptionContext values must be strings');
    }
  }
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(entries.map(([k, v]) => `${k}${v as string}`).join(''), 'utf8');
}

function blob(value: unknown, field: string, max = 6144): Buffer {
  if (typeof value !== 'string' || value.length === 0) {
    throw validation(
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  }
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length === 0 || bytes.length > max) {
    throw validation(
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must have length between 1 and ${max}`,
    );
  }
  return bytes;
}

export async function startFakeKms(
  options: { port?: number; region?: string; accountId?: string } = {},
): Promise<FakeKms> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '111122223333';
  const keys = new Map<string, FakeKey>();
  const aliases = new Map<string, string>();
  const calls: string[] = [];

  const arnOf = (id: string) => `arn:aws:kms:${region}:${accountId}:key/${id}`;

  function createKey(description = ''): FakeKey {
    const id = randomUUID();
    const key: FakeKey = {
      id,
      arn: arnOf(id),
      material: randomBytes(32),
      createdAt: Date.now() / 1000,
      description,
      state: 'Enabled',
    };
    keys.set(id, key);
    return key;
  }

  /** A key by id, ARN, alias name or alias ARN; NotFoundException when none. */
  function resolve(keyId: unknown): FakeKey {
    if (typeof keyId !== 'string' || keyId.length === 0) {
      throw validation(
        `1 validation error detected: Value at 'keyId' failed to satisfy constraint: Member must not be null`,
      );
    }
    let id = keyId;
    const aliasArn = /^arn:aws:kms:[^:]+:\d+:(alias\/.+)$/.exec(keyId);
    const keyArn = /^arn:aws:kms:[^:]+:\d+:key\/(.+)$/.exec(keyId);
    if (keyId.startsWith('alias/') || aliasArn) {
      const target = aliases.get(aliasArn?.[1] ?? keyId);
      if (target === undefined) {
        throw new KmsError('NotFoundException', 404, `Alias ${arnOf(keyId)} is not found.`);
      }
      id = target;
    } else if (keyArn) {
      id = keyArn[1]!;
    }
    const key = keys.get(id);
    if (!key) {
      throw notFound(keyId);
    }
    return key;
  }

  /** A key that may encrypt or decrypt now: DisabledException or KMSInvalidStateException otherwise. */
  function usable(key: FakeKey): FakeKey {
    if (key.state === 'Disabled') {
      throw new KmsError('DisabledException', 409, `${key.arn} is disabled.`);
    }
    if (key.state === 'PendingDeletion') {
      throw new KmsError('KMSInvalidStateException', 409, `${key.arn} is pending deletion.`);
    }
    return key;
  }

  function encrypt(key: FakeKey, plaintext: Buffer, context: unknown): Buffer {
    const iv = randomBytes(IV_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', key.material, iv);
    cipher.setAAD(contextAad(context));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from(key.id, 'ascii'), iv, cipher.getAuthTag(), ct]);
  }

  /** Opens a blob for `context`; `expectedKeyId` (Decrypt's KeyId, ReEncrypt's SourceKeyId) must be its key. */
  function decrypt(ciphertext: Buffer, context: unknown, expectedKeyId?: unknown): { key: FakeKey; plaintext: Buffer } {
    const aad = contextAad(context);
    if (ciphertext.length <= KEY_ID_LENGTH + IV_LENGTH + TAG_LENGTH) {
      throw invalidCiphertext();
    }
    const key = keys.get(ciphertext.subarray(0, KEY_ID_LENGTH).toString('ascii'));
    if (!key) {
      throw invalidCiphertext();
    }
    if (expectedKeyId !== undefined && expectedKeyId !== null && resolve(expectedKeyId).id !== key.id) {
      throw new KmsError(
        'IncorrectKeyException',
        400,
        'The key ID in the request does not identify a CMK that can perform this operation.',
      );
    }
    usable(key);
    const iv = ciphertext.subarray(KEY_ID_LENGTH, KEY_ID_LENGTH + IV_LENGTH);
    const tag = ciphertext.subarray(KEY_ID_LENGTH + IV_LENGTH, KEY_ID_LENGTH + IV_LENGTH + TAG_LENGTH);
    const decipher = createDecipheriv('aes-256-gcm', key.material, iv);
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    try {
      return {
        key,
        plaintext: Buffer.concat([
          decipher.update(ciphertext.subarray(KEY_ID_LENGTH + IV_LENGTH + TAG_LENGTH)),
          decipher.final(),
        ]),
      };
    } catch {
      throw invalidCiphertext();
    }
  }

  function metadata(key: FakeKey): Record<string, unknown> {
    return {
      AWSAccountId: accountId,
      KeyId: key.id,
      Arn: key.arn,
      CreationDate: key.createdAt,
      Enabled: key.state === 'Enabled',
      Description: key.description,
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeyState: key.state,
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
      KeySpec: 'SYMMETRIC_DEFAULT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      MultiRegion: false,
    };
  }

  const operations: Record<string, (body: Record<string, unknown>) => Record<string, unknown>> = {
    CreateKey: (b) => ({ KeyMetadata: metadata(createKey(typeof b.Description === 'string' ? b.Description : '')) }),
    DescribeKey: (b) => ({ KeyMetadata: metadata(resolve(b.KeyId)) }),
    ListKeys: (b) => {
      const limit = b.Limit === undefined ? 100 : Number(b.Limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw validation('Limit must be between 1 and 1000');
      }
      const all = [...keys.values()];
      const start = typeof b.Marker === 'string' ? Number(b.Marker) : 0;
      const page = all.slice(start, start + limit);
      const truncated = start + limit < all.length;
      return {
        Keys: page.map((k) => ({ KeyId: k.id, KeyArn: k.arn })),
        Truncated: truncated,
        ...(truncated ? { NextMarker: String(start + limit) } : {}),
      };
    },
    EnableKey: (b) => {
      const key = resolve(b.KeyId);
      if (key.state === 'PendingDeletion') {
        throw new KmsError('KMSInvalidStateException', 409, `${key.arn} is pending deletion.`);
      }
      key.state = 'Enabled';
      return {};
    },
    DisableKey: (b) => {
      const key = resolve(b.KeyId);
      if (key.state === 'PendingDeletion') {
        throw new KmsError('KMSInvalidStateException', 409, `${key.arn} is pending deletion.`);
      }
      key.state = 'Disabled';
      return {};
    },
    ScheduleKeyDeletion: (b) => {
      const key = resolve(b.KeyId);
      key.state = 'PendingDeletion';
      const days = b.PendingWindowInDays === undefined ? 30 : Number(b.PendingWindowInDays);
      return {
        KeyId: key.arn,
        KeyState: key.state,
        DeletionDate: Date.now() / 1000 + days * 86_400,
        PendingWindowInDays: days,
      };
    },
    CreateAlias: (b) => {
      const name = b.AliasName;
      if (typeof name !== 'string' || !/^alias\/[a-zA-Z0-9/_-]+$/.test(name) || name.startsWith('alias/aws/')) {
        throw validation(`Invalid alias name ${String(name)}`);
      }
      if (aliases.has(name)) {
        throw new KmsError('AlreadyExistsException', 409, `An alias with the name ${arnOf(name)} already exists`);
      }
      aliases.set(name, resolve(b.TargetKeyId).id);
      return {};
    },
    UpdateAlias: (b) => {
      const name = b.AliasName;
      if (typeof name !== 'string' || !aliases.has(name)) {
        throw new KmsError('NotFoundException', 404, `Alias ${arnOf(String(name))} is not found.`);
      }
      aliases.set(name, resolve(b.TargetKeyId).id);
      return {};
    },
    GenerateDataKey: (b) => {
      const key = usable(resolve(b.KeyId));
      if ((b.KeySpec === undefined) === (b.NumberOfBytes === undefined)) {
        throw validation('Please specify either number of bytes or key spec.');
      }
      let size: number;
      if (b.KeySpec !== undefined) {
        if (b.KeySpec !== 'AES_256' && b.KeySpec !== 'AES_128') {
          throw validation(
            `1 validation error detected: Value '${String(b.KeySpec)}' at 'keySpec' failed to satisfy constraint`,
          );
        }
        size = b.KeySpec === 'AES_256' ? 32 : 16;
      } else {
        size = Number(b.NumberOfBytes);
        if (!Number.isInteger(size) || size < 1 || size > 1024) {
          throw validation('1 validation error detected: NumberOfBytes must be between 1 and 1024');
        }
      }
      const plaintext = randomBytes(size);
      return {
        CiphertextBlob: encrypt(key, plaintext, b.EncryptionContext).toString('base64'),
        Plaintext: plaintext.toString('base64'),
        KeyId: key.arn,
      };
    },
    Encrypt: (b) => {
      const key = usable(resolve(b.KeyId));
      const plaintext = blob(b.Plaintext, 'plaintext', 4096);
      return {
        CiphertextBlob: encrypt(key, plaintext, b.EncryptionContext).toString('base64'),
        KeyId: key.arn,
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },
    Decrypt: (b) => {
      const { key, plaintext } = decrypt(blob(b.CiphertextBlob, 'ciphertextBlob'), b.EncryptionContext, b.KeyId);
      return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    },
    ReEncrypt: (b) => {
      // The destination is checked first: a missing or disabled destination changes nothing.
      const destination = usable(resolve(b.DestinationKeyId));
      const { key, plaintext } = decrypt(
        blob(b.CiphertextBlob, 'ciphertextBlob'),
        b.SourceEncryptionContext,
        b.SourceKeyId,
      );
      const out = encrypt(destination, plaintext, b.DestinationEncryptionContext);
      plaintext.fill(0);
      return {
        CiphertextBlob: out.toString('base64'),
        SourceKeyId: key.arn,
        KeyId: destination.arn,
        SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },
  };

  function reply(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': randomUUID(),
    });
    res.end(JSON.stringify(body));
  }

  let down = false;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
    }
    const target = req.headers['x-amz-target'];
    const op =
      typeof target === 'string' && target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : '';
    try {
      if (req.method !== 'POST' || req.url !== '/') {
        throw new KmsError('UnknownOperationException', 400, '');
      }
      const handler = Object.hasOwn(operations, op) ? operations[op] : undefined;
      if (!handler) {
        throw new KmsError('UnknownOperationException', 400, '');
      }
      let body: unknown;
      try {
        body = chunks.length === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        throw new KmsError('SerializationException', 400, 'Start of structure or map found where not expected.');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new KmsError('SerializationException', 400, 'Start of structure or map found where not expected.');
      }
      calls.push(op);
      reply(res, 200, handler(body as Record<string, unknown>));
    } catch (error) {
      if (error instanceof KmsError) {
        reply(res, error.status, { __type: error.code, message: error.message });
      } else {
        reply(res, 500, { __type: 'KMSInternalException', message: 'internal error' });
      }
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    region,
    accountId,
    calls,
    createKey: (alias?: string) => {
      const key = createKey();
      if (alias !== undefined) {
        aliases.set(alias, key.id);
      }
      return key.id;
    },
    disableKey: (keyId) => {
      resolve(keyId).state = 'Disabled';
    },
    enableKey: (keyId) => {
      resolve(keyId).state = 'Enabled';
    },
    keyState: (keyId) => resolve(keyId).state,
    arnOf: (keyId) => resolve(keyId).arn,
    setDown: (value) => {
      down = value;
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
