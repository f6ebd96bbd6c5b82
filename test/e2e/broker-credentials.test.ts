import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { type FakeKms, startFakeKms } from '../support/fake-kms.js';
import { MAIN, ROOT, type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { Api } from '../support/http.js';
import { signWithDevKey } from '../support/tokens.js';

/**
 * The built gateway with `KEY_PROVIDER=aws-kms` pointed at the fake KMS (README, "Broker credentials and
 * key providers"): it describes its key at start, stores an API key pair under a data key of that key,
 * and refuses to start when the key does not exist.
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
afterAll(async () => {
  await gw?.stop();
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
