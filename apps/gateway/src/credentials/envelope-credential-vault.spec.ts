import { stat } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.js';
import { dumpData, fakeKmsProvider, insertAccount, secretForms } from '../../../../test/support/credentials.js';
import { type FakeKms, startFakeKms } from '../../../../test/support/fake-kms.js';
import { BrokerCredentialRepository } from './broker-credential.repository.js';
import { type BrokerSecrets, type CredentialOwner, CredentialUnreadableError } from './broker-secrets.js';
import { ENVIRONMENT_NOT_SERVED, EnvelopeCredentialVault } from './envelope-credential-vault.js';
import type { KeyProvider } from './key-provider.js';
import { LocalKeyProvider } from './local-key-provider.js';

let db: TestDatabase;
let kms: FakeKms;
let dir: string;
const providers: KeyProvider[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  kms = await startFakeKms();
  dir = await mkdtemp(join(tmpdir(), 'gw-vault-'));
});
afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await kms?.close();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

const BOTH = { environments: ['paper', 'live'] as const };
const PAPER_ONLY = { environments: ['paper'] as const };

function vault(keys: KeyProvider, config: { environments: readonly ('paper' | 'live')[] } = BOTH) {
  return new EnvelopeCredentialVault(new BrokerCredentialRepository(db.dataSource), keys, config);
}

/** The error `work` fails with; the test fails if it does not. */
async function refusal(work: Promise<unknown>): Promise<CredentialUnreadableError> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CredentialUnreadableError);
  return error as CredentialUnreadableError;
}

/** Copies the whole envelope of `from`'s row onto `to`'s row, as someone with write access to the table could. */
async function copyEnvelope(from: string, to: string): Promise<void> {
  await db.dataSource.query(
    `UPDATE broker_credentials t SET key_id = f.key_id, wrapped_key = f.wrapped_key, iv = f.iv, auth_tag = f.auth_tag,
            ciphertext = f.ciphertext
       FROM broker_credentials f WHERE f.account_id = $1 AND t.account_id = $2`,
    [from, to],
  );
}

// Run the same properties over both providers: the fake KMS through the real SDK, and the local master key.
describe.each([
  {
    name: 'aws-kms (fake KMS, real SDK)',
    open: (): Promise<KeyProvider> => {
      kms.createKey('alias/vault-test');
      return Promise.resolve(fakeKmsProvider(kms, 'alias/vault-test'));
    },
  },
  { name: 'local', open: () => LocalKeyProvider.open(join(dir, 'nested', 'master-key.json')) },
])('EnvelopeCredentialVault with $name', ({ name, open }) => {
  let keys: KeyProvider;
  let a: CredentialOwner;
  let b: CredentialOwner;
  const token = `sk-${name.slice(0, 3)}-${'9f3c'.repeat(8)}`;
  const secretsOfA: BrokerSecrets = { kind: 'api_key', keyId: 'PKTESTKEYID', secret: token };

  beforeAll(async () => {
    keys = await open();
    providers.push(keys);
    a = { accountId: await insertAccount(db.dataSource, `a-${name}`), broker: 'alpaca', environment: 'paper' };
    b = { accountId: await insertAccount(db.dataSource, `b-${name}`), broker: 'alpaca', environment: 'paper' };
  });

  it('decrypts for the account it was stored for, and lists it without a secret', async () => {
    const v = vault(keys);
    await v.store(a, secretsOfA);
    expect(await v.load(a)).toEqual(secretsOfA);
    const listed = (await v.list()).find((c) => c.accountId === a.accountId);
    expect(listed).toMatchObject({ ...a, kind: 'api_key', accessExpiresAt: null, refreshExpiresAt: null });
    expect(listed!.keyId).toBe(name === 'local' ? keys.currentKeyId() : kms.arnOf('alias/vault-test'));
    expect(JSON.stringify(listed)).not.toContain(token);
    expect(await v.load({ ...a, accountId: '00000000-0000-4000-8000-000000000000' })).toBeNull();
  });

  it('keeps OAuth tokens with their expiries in clear beside them', async () => {
    const v = vault(keys);
    const oauth: BrokerSecrets = {
      kind: 'oauth',
      accessToken: `at-${token}`,
      accessExpiresAt: Date.UTC(2026, 11, 3, 8),
      refreshToken: `rt-${token}`,
      refreshExpiresAt: Date.UTC(2026, 11, 10, 8),
    };
    await v.store(b, oauth);
    expect(await v.load(b)).toEqual(oauth);
    expect((await v.list()).find((c) => c.accountId === b.accountId)).toMatchObject({
      kind: 'oauth',
      accessExpiresAt: Date.UTC(2026, 11, 3, 8),
      refreshExpiresAt: Date.UTC(2026, 11, 10, 8),
    });
  });

  it("refuses A's ciphertext copied to B's row with InvalidCiphertextException, naming no secret", async () => {
    const v = vault(keys);
    await v.store(a, secretsOfA);
    await copyEnvelope(a.accountId, b.accountId);
    const error = await refusal(v.load(b));
    expect(error).toMatchObject({ accountId: b.accountId, code: 'InvalidCiphertextException' });
    // What a route answers for it: a clear 409 naming the account and KMS's code, and no secret.
    const problem = error.toApiError();
    expect(problem).toMatchObject({
      status: 409,
      code: 'broker.credentials_unreadable',
      extra: { accountId: b.accountId, kmsCode: 'InvalidCiphertextException' },
    });
    for (const form of secretForms(token)) {
      expect(`${error.message} ${error.stack} ${JSON.stringify(problem)} ${problem.detail}`).not.toContain(form);
    }
    expect(await v.load(a)).toEqual(secretsOfA);
  });

  it('refuses the ciphertext once its row says live, and a paper-only deployment asks KMS nothing', async () => {
    const v = vault(keys);
    await v.store(a, secretsOfA);
    await db.dataSource.query(`UPDATE broker_credentials SET environment = 'live' WHERE account_id = $1`, [
      a.accountId,
    ]);
    const live: CredentialOwner = { ...a, environment: 'live' };
    const error = await refusal(v.load(live));
    expect(error.code).toBe('InvalidCiphertextException');
    expect(error.message).not.toContain(token);

    const calls = kms.calls.length;
    const paperOnly = vault(keys, PAPER_ONLY);
    expect((await refusal(paperOnly.load(live))).code).toBe(ENVIRONMENT_NOT_SERVED);
    // The caller says paper, the row says live: refused as well, without a key provider call.
    expect((await refusal(paperOnly.load(a))).code).toBe(ENVIRONMENT_NOT_SERVED);
    expect((await refusal(paperOnly.store(live, secretsOfA))).code).toBe(ENVIRONMENT_NOT_SERVED);
    expect(kms.calls.length).toBe(calls);
  });

  it('refuses a tampered ciphertext', async () => {
    const v = vault(keys);
    await v.store(a, secretsOfA);
    await db.dataSource.query(
      `UPDATE broker_credentials SET ciphertext = overlay(ciphertext placing '\\x00'::bytea from 1 for 1) WHERE account_id = $1`,
      [a.accountId],
    );
    expect((await refusal(v.load(a))).code).toBe('InvalidCiphertextException');
    expect(await v.forget(a.accountId)).toBe(true);
    expect(await v.forget(a.accountId)).toBe(false);
    expect(await v.load(a)).toBeNull();
  });

  it('leaves no plaintext secret in any table', async () => {
    const v = vault(keys);
    await v.store(a, secretsOfA);
    const dump = await dumpData(db.url);
    expect(dump).toContain('broker_credentials');
    expect(dump).toContain(a.accountId);
    for (const form of secretForms(token)) {
      expect(dump).not.toContain(form);
    }
  });
});

describe('LocalKeyProvider', () => {
  it('makes its master key file readable by its owner only, once, and keeps the key across opens', async () => {
    const file = join(dir, 'own', 'master-key.json');
    const first = await LocalKeyProvider.open(file);
    providers.push(first);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const again = await LocalKeyProvider.open(file);
    providers.push(again);
    expect(again.currentKeyId()).toBe(first.currentKeyId());
    const context = { accountId: 'x', broker: 'alpaca', environment: 'paper' };
    const key = await first.generateDataKey(context);
    expect((await again.unwrap(key, context)).equals(key.plaintext)).toBe(true);
  });

  it('refuses a master key file others can read', async () => {
    const { chmod } = await import('node:fs/promises');
    const file = join(dir, 'loose', 'master-key.json');
    providers.push(await LocalKeyProvider.open(file));
    await chmod(file, 0o644);
    await expect(LocalKeyProvider.open(file)).rejects.toThrow(/chmod 600/);
  });
});

describe('EnvelopeCredentialVault with a disabled KMS key', () => {
  it('answers DisabledException as an unreadable credential', async () => {
    const keyId = kms.createKey();
    const keys = fakeKmsProvider(kms, keyId);
    providers.push(keys);
    const owner: CredentialOwner = {
      accountId: await insertAccount(db.dataSource, 'disabled-key'),
      broker: 'alpaca',
      environment: 'paper',
    };
    const v = vault(keys);
    await v.store(owner, { kind: 'api_key', keyId: 'k', secret: 'disabled-secret' });
    kms.disableKey(keyId);
    const error = await refusal(v.load(owner));
    expect(error.code).toBe('DisabledException');
    expect(error.message).not.toContain('disabled-secret');
  });
});
