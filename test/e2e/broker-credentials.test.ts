import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { expectProblem } from '../support/e2e.js';
import { type FakeAlpacaProcess, startFakeAlpacaProcess } from '../support/fake-alpaca-process.js';
import { type FakeKms, startFakeKms } from '../support/fake-kms.js';
import { MAIN, ROOT, type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { Api } from '../support/http.js';
import { signWithDevKey } from '../support/tokens.js';

/**
 * The built gateway with `KEY_PROVIDER=aws-kms` pointed at the fake KMS (README, "Broker credentials and
 * key providers"): it describes its key at start, stores an API key pair under a data key of that key,
 * and refuses to start when the key does not exist. With two Alpaca accounts (the fake Alpaca process): a key
 * pair stored for A trades for A; A's ciphertext row copied in SQL onto B makes B's orders answer 409
 * `broker.credentials_unreadable` naming KMS's `InvalidCiphertextException` (the encryption context is
 * B's, the data key was bound to A's), without the secret, while A keeps trading.
 */
let kms: FakeKms;
let db: TestDatabase;
let gw: GatewayProcess | undefined;
let keyArn: string;

const kmsEnv = () => ({
  KEY_PROVIDER: 'aws-kms',
  KMS_ENDPOINT: kms.url,
  KMS_REGION: kms.region,
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
});

beforeAll(async () => {
  kms = await startFakeKms();
  keyArn = kms.arnOf(kms.createKey('alias/gateway-credentials'));
  db = await createTestDatabase();
}, 60_000);
let alpaca: FakeAlpacaProcess | undefined;
afterAll(async () => {
  await gw?.stop();
  await alpaca?.stop();
  await db?.drop();
  await kms?.close();
});

async function startFails(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, stderr };
}

describe('broker credentials with AWS KMS', () => {
  it('stores an API key pair under a data key of KMS_KEY_ID, answering nothing of it', async () => {
    gw = await startGatewayProcess({
      DATABASE_URL: db.url,
      REDIS_PREFIX: redisPrefix(),
      ...kmsEnv(),
      KMS_KEY_ID: 'alias/gateway-credentials',
    });
    expect(kms.calls).toContain('DescribeKey');
    const admin = new Api(
      gw.url,
      await signWithDevKey(db.dataSource, { sub: 'e2e-kms-admin', roles: ['admin'], accounts: [gw.accountId] }),
    );
    const secret = 'kms-e2e-secret-0f1e2d3c4b5a69788796a5b4c3d2e1f0';
    const res = await admin.request('PUT', `/v1/accounts/${gw.accountId}/broker-credentials`, {
      kind: 'api_key',
      keyId: 'PKKMS',
      secret,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(204);
    expect(res.body).toBeNull();
    expect(kms.calls).toContain('GenerateDataKey');
    const [row] = await db.dataSource.query(
      `SELECT key_provider, key_id, environment, broker, encode(ciphertext, 'escape') AS text FROM broker_credentials WHERE account_id = $1`,
      [gw.accountId],
    );
    expect(row).toMatchObject({ key_provider: 'aws-kms', key_id: keyArn, environment: 'paper', broker: 'paper' });
    expect(row.text).not.toContain(secret);
    await gw.stop();
    expect(gw.output()).not.toContain(secret);
    gw = undefined;
  });

  it("refuses to start with a KMS key that does not exist, naming it and KMS's answer", async () => {
    const { code, stderr } = await startFails({ DATABASE_URL: db.url, ...kmsEnv(), KMS_KEY_ID: 'alias/no-such-key' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/alias\/no-such-key \(KMS_KEY_ID\) is not usable: AWS KMS answered NotFoundException/);
  });

  it('refuses KEY_PROVIDER=aws-kms without KMS_KEY_ID', async () => {
    const { code, stderr } = await startFails({ DATABASE_URL: db.url, ...kmsEnv() });
    expect(code).toBe(1);
    expect(stderr).toContain('KMS_KEY_ID: required when KEY_PROVIDER is aws-kms');
  });
});

describe('a credential copied to another account over HTTP (aws-kms, Alpaca)', () => {
  const KEY_ID = 'PKKMSCOPY';
  const SECRET = 'kms-copy-secret-5a4b3c2d1e0f9a8b7c6d5e4f';
  const START_TIME = '09:30:10';

  it("answers B's order with 409 broker.credentials_unreadable (InvalidCiphertextException), no secret; A still trades", async () => {
    alpaca = await startFakeAlpacaProcess({ keyId: KEY_ID, secretKey: SECRET }, { PAPER_START_TIME: START_TIME });
    gw = await startGatewayProcess({
      DATABASE_URL: db.url,
      REDIS_PREFIX: redisPrefix(),
      ...kmsEnv(),
      KMS_KEY_ID: 'alias/gateway-credentials',
      PAPER_START_TIME: START_TIME,
      BROKERS: 'paper,alpaca',
      BROKER_ALPACA_ADAPTER: 'alpaca',
      BROKER_ALPACA_URL: alpaca.url,
      BROKER_SUBMIT_TIMEOUT_MS: '1000',
    });
    const admin = new Api(
      gw.url,
      await signWithDevKey(db.dataSource, { sub: 'e2e-kms-copy-admin', roles: ['admin'], accounts: ['*'] }),
    );
    const trader = new Api(
      gw.url,
      await signWithDevKey(db.dataSource, { sub: 'e2e-kms-copy-trader', roles: ['trader'], accounts: ['*'] }),
    );
    const create = async (name: string): Promise<string> => {
      const res = await admin.post('/v1/accounts', { name, broker: 'alpaca', environment: 'paper' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.id as string;
    };
    const a = await create('kms-copy-a');
    const b = await create('kms-copy-b');
    const stored = await admin.request('PUT', `/v1/accounts/${a}/broker-credentials`, {
      kind: 'api_key',
      keyId: KEY_ID,
      secret: SECRET,
    });
    expect(stored.status, JSON.stringify(stored.body)).toBe(204);
    // A's row, every column of its envelope, copied onto B (B never had one, so no client of B exists).
    await db.dataSource.query(
      `INSERT INTO broker_credentials (account_id, broker, environment, kind, key_provider, key_id, wrapped_key, iv, auth_tag, ciphertext)
       SELECT $2, broker, environment, kind, key_provider, key_id, wrapped_key, iv, auth_tag, ciphertext
         FROM broker_credentials WHERE account_id = $1`,
      [a, b],
    );

    const bid = Number((await trader.get('/v1/quotes/SPY')).body.bid);
    let n = 0;
    const order = () => ({
      clientOrderId: `kms-copy-${++n}`,
      symbol: 'SPY',
      side: 'buy',
      quantity: '1',
      type: 'limit',
      limitPrice: (bid - 1).toFixed(2),
    });

    const decryptsBefore = kms.calls.filter((c) => c === 'Decrypt').length;
    const onB = await trader.post(`/v1/accounts/${b}/orders`, order());
    const problem = expectProblem(onB, 409, 'broker.credentials_unreadable');
    expect(problem).toMatchObject({ accountId: b, kmsCode: 'InvalidCiphertextException' });
    expect(problem.detail).toContain('InvalidCiphertextException');
    expect(problem.detail).toContain('store it again');
    // KMS itself refused: the data key's encryption context is A's, B's was asked for.
    expect(kms.calls.filter((c) => c === 'Decrypt').length).toBeGreaterThan(decryptsBefore);
    expect(JSON.stringify(onB.body)).not.toContain(SECRET);
    expect((await alpaca.call('GET', '/test/received')).body).toEqual([]);
    const accountB = (await trader.get(`/v1/accounts/${b}`)).body;
    expect(accountB).toMatchObject({ entriesBlocked: true });
    expect(accountB.entriesBlockedReason).toContain('InvalidCiphertextException');

    const onA = await trader.post(`/v1/accounts/${a}/orders`, order());
    expect(onA.status, JSON.stringify(onA.body)).toBe(201);
    expect(onA.body).toMatchObject({ status: 'new', brokerOrderId: expect.any(String) });
    const atAlpaca = await alpaca.call('GET', `/v2/orders:by_client_order_id?client_order_id=${onA.body.id}`);
    expect(atAlpaca.body).toMatchObject({ client_order_id: onA.body.id, status: 'new' });

    // B again after A's client exists: still refused (nothing of A's client leaks to B).
    expectProblem(await trader.post(`/v1/accounts/${b}/orders`, order()), 409, 'broker.credentials_unreadable');
    await gw.stop();
    expect(gw.output()).toContain('broker_credentials_unreadable');
    expect(gw.output()).not.toContain(SECRET);
    gw = undefined;
  });
});
