import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { KMSClient } from '@aws-sdk/client-kms';
import type { DataSource } from 'typeorm';
import { AwsKmsKeyProvider } from '../../apps/gateway/src/credentials/aws-kms-key-provider.js';
import type { FakeKms } from './fake-kms.js';

/** A KMSClient on the fake KMS (dummy credentials: the fake does not check signatures). */
export function fakeKmsClient(kms: FakeKms): KMSClient {
  return new KMSClient({
    region: kms.region,
    endpoint: kms.url,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
}

/** The `aws-kms` key provider on the fake KMS, new data keys under `keyId`. */
export function fakeKmsProvider(kms: FakeKms, keyId: string): AwsKmsKeyProvider {
  return new AwsKmsKeyProvider({ keyId, region: kms.region, endpoint: kms.url }, fakeKmsClient(kms));
}

/** An account row (the credential's foreign key), answering its id. */
export async function insertAccount(
  dataSource: DataSource,
  name: string,
  environment: 'paper' | 'live' = 'paper',
  broker = 'alpaca',
): Promise<string> {
  const id = randomUUID();
  await dataSource.query(`INSERT INTO accounts (id, name, environment, broker) VALUES ($1, $2, $3, $4)`, [
    id,
    name,
    environment,
    broker,
  ]);
  return id;
}

/** `count` accounts in one statement, answering their ids in id order. */
export async function insertAccounts(
  dataSource: DataSource,
  prefix: string,
  count: number,
  broker = 'alpaca',
): Promise<string[]> {
  const rows = await dataSource.query<{ id: string }[]>(
    `INSERT INTO accounts (id, name, environment, broker)
     SELECT gen_random_uuid(), $1 || g, 'paper', $3 FROM generate_series(1, $2::int) g RETURNING id`,
    [prefix, count, broker],
  );
  return rows.map((r) => r.id).sort();
}

/** Every table's data as `pg_dump --data-only` prints it (bytea as hex). */
export async function dumpData(databaseUrl: string): Promise<string> {
  const { stdout } = await promisify(execFile)('pg_dump', ['--data-only', '--no-owner', databaseUrl], {
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout;
}

/** The forms a secret could take in a dump or a log: as is, hex (bytea), base64, JSON-escaped. */
export function secretForms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  return [secret, bytes.toString('hex'), bytes.toString('base64'), JSON.stringify(secret).slice(1, -1)];
}
