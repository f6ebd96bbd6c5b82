import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisabledException,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  KMSClient,
  KMSInvalidStateException,
  ListKeysCommand,
  NotFoundException,
  ReEncryptCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKms, startFakeKms } from '../../../../test/support/fake-kms.js';

let kms: FakeKms;
let client: KMSClient;

beforeAll(async () => {
  kms = await startFakeKms();
  client = new KMSClient({
    region: 'us-east-1',
    endpoint: kms.url,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client?.destroy();
  await kms?.close();
});

const context = { accountId: 'acc-1', broker: 'alpaca', environment: 'paper' };

async function newKey(alias?: string): Promise<{ id: string; arn: string }> {
  const { KeyMetadata } = await client.send(new CreateKeyCommand({ Description: 'test' }));
  if (alias !== undefined) {
    await client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: KeyMetadata!.KeyId }));
  }
  return { id: KeyMetadata!.KeyId!, arn: KeyMetadata!.Arn! };
}

/** The error a call fails with (the test fails if it succeeds). */
async function failure(promise: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

describe('fake KMS through @aws-sdk/client-kms', () => {
  it('creates, describes and lists keys with ARNs and epoch-second dates', async () => {
    const before = Date.now();
    const key = await newKey();
    expect(key.arn).toBe(`arn:aws:kms:us-east-1:111122223333:key/${key.id}`);
    const { KeyMetadata, $metadata } = await client.send(new DescribeKeyCommand({ KeyId: key.arn }));
    expect($metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(KeyMetadata).toMatchObject({
      KeyId: key.id,
      Enabled: true,
      KeyState: 'Enabled',
      KeyUsage: 'ENCRYPT_DECRYPT',
    });
    expect(KeyMetadata!.CreationDate).toBeInstanceOf(Date);
    expect(KeyMetadata!.CreationDate!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    const listed = await client.send(new ListKeysCommand({}));
    expect(listed.Keys).toContainEqual({ KeyId: key.id, KeyArn: key.arn });
  });

  it('generates a data key under an alias, answers the key ARN and decrypts it only with the same context', async () => {
    const key = await newKey('alias/credentials-test');
    const generated = await client.send(
      new GenerateDataKeyCommand({ KeyId: 'alias/credentials-test', KeySpec: 'AES_256', EncryptionContext: context }),
    );
    expect(generated.KeyId).toBe(key.arn);
    expect(generated.Plaintext).toHaveLength(32);
    const decrypted = await client.send(
      new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: context }),
    );
    expect(decrypted.KeyId).toBe(key.arn);
    expect(Buffer.from(decrypted.Plaintext!).equals(Buffer.from(generated.Plaintext!))).toBe(true);

    const moved = await failure(
      client.send(
        new DecryptCommand({
          CiphertextBlob: generated.CiphertextBlob,
          EncryptionContext: { ...context, accountId: 'acc-2' },
        }),
      ),
    );
    expect(moved).toBeInstanceOf(InvalidCiphertextException);
    expect(moved.$metadata?.httpStatusCode).toBe(400);
    const live = await failure(
      client.send(
        new DecryptCommand({
          CiphertextBlob: generated.CiphertextBlob,
          EncryptionContext: { ...context, environment: 'live' },
        }),
      ),
    );
    expect(live).toBeInstanceOf(InvalidCiphertextException);
    const none = await failure(client.send(new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob })));
    expect(none).toBeInstanceOf(InvalidCiphertextException);
  });

  it('refuses a tampered blob and one decrypted with another KeyId', async () => {
    const key = await newKey();
    const other = await newKey();
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('hello'), EncryptionContext: context }),
    );
    const tampered = Buffer.from(CiphertextBlob!);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
    expect(
      await failure(client.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: context }))),
    ).toBeInstanceOf(InvalidCiphertextException);
    const wrongKey = await failure(
      client.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context, KeyId: other.id })),
    );
    expect(wrongKey).toBeInstanceOf(IncorrectKeyException);
    expect(wrongKey.$metadata?.httpStatusCode).toBe(400);
    const ok = await client.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context, KeyId: key.arn }));
    expect(Buffer.from(ok.Plaintext!).toString()).toBe('hello');
  });

  it('re-encrypts under another key with the same context, after which the old key is not needed', async () => {
    const from = await newKey();
    const to = await newKey();
    const generated = await client.send(
      new GenerateDataKeyCommand({ KeyId: from.id, KeySpec: 'AES_256', EncryptionContext: context }),
    );
    const re = await client.send(
      new ReEncryptCommand({
        CiphertextBlob: generated.CiphertextBlob,
        SourceEncryptionContext: context,
        SourceKeyId: from.arn,
        DestinationKeyId: to.id,
        DestinationEncryptionContext: context,
      }),
    );
    expect(re).toMatchObject({ SourceKeyId: from.arn, KeyId: to.arn });
    await client.send(new DisableKeyCommand({ KeyId: from.id }));
    const decrypted = await client.send(
      new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: context }),
    );
    expect(decrypted.KeyId).toBe(to.arn);
    expect(Buffer.from(decrypted.Plaintext!).equals(Buffer.from(generated.Plaintext!))).toBe(true);
    // Under the disabled key alone nothing decrypts any more.
    const disabled = await failure(
      client.send(new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: context })),
    );
    expect(disabled).toBeInstanceOf(DisabledException);
    expect(disabled.$metadata?.httpStatusCode).toBe(409);
    await client.send(new EnableKeyCommand({ KeyId: from.id }));
    await client.send(new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: context }));
  });

  it('answers NotFoundException, KMSInvalidStateException and validation errors with their statuses', async () => {
    const missing = await failure(
      client.send(new GenerateDataKeyCommand({ KeyId: '00000000-0000-0000-0000-000000000000', KeySpec: 'AES_256' })),
    );
    expect(missing).toBeInstanceOf(NotFoundException);
    expect(missing.$metadata?.httpStatusCode).toBe(404);
    expect(await failure(client.send(new DescribeKeyCommand({ KeyId: 'alias/nothing-here' })))).toBeInstanceOf(
      NotFoundException,
    );

    const doomed = await newKey();
    await client.send(new ScheduleKeyDeletionCommand({ KeyId: doomed.id, PendingWindowInDays: 7 }));
    const pending = await failure(client.send(new EncryptCommand({ KeyId: doomed.id, Plaintext: Buffer.from('x') })));
    expect(pending).toBeInstanceOf(KMSInvalidStateException);
    expect(pending.$metadata?.httpStatusCode).toBe(409);

    const key = await newKey();
    const invalid = await failure(
      client.send(new GenerateDataKeyCommand({ KeyId: key.id, KeySpec: 'AES_256', NumberOfBytes: 32 })),
    );
    expect(invalid.name).toBe('ValidationException');
    expect(invalid.$metadata?.httpStatusCode).toBe(400);
  });

  it('records the operations called, so a test can show that none was', async () => {
    const before = kms.calls.length;
    await client.send(new ListKeysCommand({ Limit: 1 }));
    expect(kms.calls.slice(before)).toEqual(['ListKeys']);
  });
});
