import { type ChildProcess, spawn } from 'node:child_process';
import { UpdateAliasCommand } from '@aws-sdk/client-kms';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../../../../test/support/database.js';
import { fakeKmsClient, fakeKmsProvider, insertAccounts } from '../../../../test/support/credentials.js';
import { startGatewayProcess } from '../../../../test/support/gateway-process.js';
import { Api, eventually } from '../../../../test/support/http.js';
import { signWithDevKey } from '../../../../test/support/tokens.js';
import { type FakeKms, startFakeKms } from '../../../../test/support/fake-kms.js';
import { BrokerCredentialRepository } from './broker-credential.repository.js';
import type { CredentialOwner } from './broker-secrets.js';
import { EnvelopeCredentialVault } from './envelope-credential-vault.js';
import type { KeyProvider } from './key-provider.js';
import { KeyRotation } from './key-rotation.js';
import { LocalKeyProvider } from './local-key-provider.js';

/** The built admin CLI (`gateway keys rotate|status`). */
const CLI = fileURLToPath(new URL('../../../../dist/apps/gateway/src/cli/main.js', import.meta.url));
const COUNT = 1000;
const RACED = 300;
const CONFIG = { environments: ['paper'] as const };

let kms: FakeKms;
let dir: string;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  kms = await startFakeKms();
  dir = await mkdtemp(join(tmpdir(), 'gw-rotation-'));
});
afterAll(async () => {
  for (const step of cleanup.reverse()) {
    await step();
  }
  await kms?.close();
  await rm(dir, { recursive: true, force: true });
});

const secretOf = (accountId: string) => `secret-of-${accountId}`;

/** A fresh database with `count` accounts, each with an API key stored under `keys`. */
async function storeCredentials(
  keys: KeyProvider,
  count = COUNT,
  broker = 'alpaca',
): Promise<{ db: TestDatabase; owners: CredentialOwner[] }> {
  const db = await createTestDatabase();
  cleanup.push(() => db.drop());
  const owners = (await insertAccounts(db.dataSource, 'rot-', count, broker)).map((accountId): CredentialOwner => ({
    accountId,
    broker,
    environment: 'paper',
  }));
  const vault = new EnvelopeCredentialVault(new BrokerCredentialRepository(db.dataSource), keys, CONFIG);
  for (let i = 0; i < owners.length; i += 50) {
    await Promise.all(
      owners
        .slice(i, i + 50)
        .map((o) => vault.store(o, { kind: 'api_key', keyId: `id-${o.accountId}`, secret: secretOf(o.accountId) })),
    );
  }
  return { db, owners };
}

/** How many of `owners` decrypt to what was stored for them (any error counts as not). */
async function decryptable(db: TestDatabase, keys: KeyProvider, owners: CredentialOwner[]): Promise<number> {
  const vault = new EnvelopeCredentialVault(new BrokerCredentialRepository(db.dataSource), keys, CONFIG);
  let ok = 0;
  for (let i = 0; i < owners.length; i += 50) {
    const loaded = await Promise.all(owners.slice(i, i + 50).map((o) => vault.load(o).catch(() => null)));
    ok += loaded.filter((s, j) => s?.kind === 'api_key' && s.secret === secretOf(owners[i + j]!.accountId)).length;
  }
  return ok;
}

async function countsByKey(db: TestDatabase): Promise<Record<string, number>> {
  const counts = await new BrokerCredentialRepository(db.dataSource).countByKey();
  return Object.fromEntries(counts.map((c) => [c.keyId, c.credentials]));
}

interface ChildResult {
  readonly code: number | null;
  readonly signal: string | null;
  readonly lines: any[];
  readonly result: any;
  readonly stderr: string;
}

interface ChildRun {
  readonly child: ChildProcess;
  /** What it wrote on stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (null when killed), the progress lines and the result printed. */
  readonly done: Promise<ChildResult>;
}

/**
 * `gateway --json keys <args>` (the built admin CLI) as its own process; after `killAfter` progress lines
 * (JSON lines on stderr) it is SIGKILLed; `onProgress` sees each. `lines`: the progress lines; `result`:
 * the JSON document it printed on stdout at the end (null when killed).
 */
function runRotation(
  env: Record<string, string>,
  args: string[],
  killAfter?: number,
  onProgress?: (line: any) => void,
): ChildRun {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
  }
  const child = spawn(process.execPath, [CLI, '--json', 'keys', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: any[] = [];
  let stdout = '';
  let stderr = '';
  let buffered = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    buffered += d.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith('{"progress"')) {
        const progress = (JSON.parse(line) as { progress: unknown }).progress;
        lines.push(progress);
        onProgress?.(progress);
      }
      if (killAfter !== undefined && lines.length === killAfter) {
        child.kill('SIGKILL');
      }
    }
  });
  const done = new Promise<ChildResult>((resolve) =>
    child.once('exit', (code, signal) =>
      resolve({ code, signal, lines, result: stdout.trim() === '' ? null : JSON.parse(stdout), stderr }),
    ),
  );
  return { child, done, stderr: () => stderr };
}

describe('KeyRotation', () => {
  it(`re-wraps ${COUNT} local credentials under a new master key, after which the old key can be dropped`, async () => {
    const file = join(dir, 'in-process', 'master-key.json');
    const keys = await LocalKeyProvider.open(file);
    cleanup.push(() => keys.close());
    const oldKey = keys.currentKeyId();
    const { db, owners } = await storeCredentials(keys);
    const rotation = new KeyRotation(new BrokerCredentialRepository(db.dataSource), keys, CONFIG);
    expect(await rotation.status()).toMatchObject({
      currentKeyId: oldKey,
      keys: [{ keyId: oldKey, credentials: COUNT }],
    });

    let lastProgress = 0;
    const result = await rotation.rotate({ batchSize: 64, onProgress: (p) => (lastProgress = p.done) });
    expect(result.toKeyId).not.toBe(oldKey);
    expect(result).toMatchObject({ total: COUNT, done: COUNT, rewrapped: COUNT, failed: 0, alreadyDone: 0 });
    expect(lastProgress).toBe(COUNT);
    expect(keys.currentKeyId()).toBe(result.toKeyId);
    expect(await countsByKey(db)).toEqual({ [result.toKeyId]: COUNT });

    // Once nothing is under it, the old master key leaves the file, and everything still decrypts.
    await rotation.retireLocalKey(oldKey);
    expect(JSON.parse(await readFile(file, 'utf8')).keys.map((k: { id: string }) => k.id)).toEqual([result.toKeyId]);
    const reopened = await LocalKeyProvider.open(file);
    cleanup.push(() => reopened.close());
    expect(await decryptable(db, reopened, owners)).toBe(COUNT);
    await expect(rotation.retireLocalKey(result.toKeyId)).rejects.toThrow(/still under|current/);

    // A second run with nothing left behind starts a new rotation; an explicit target already reached does nothing.
    expect(await rotation.rotate({ toKeyId: keys.currentKeyId() })).toMatchObject({ total: 0, done: 0 });
  });

  it('lets two rotations to the same KMS key race without wrapping any data key twice', async () => {
    const oldKey = kms.createKey();
    const newKey = kms.createKey();
    const keys = fakeKmsProvider(kms, oldKey);
    cleanup.push(() => keys.close());
    const { db, owners } = await storeCredentials(keys, RACED);
    // Two instances, each with its own connection pool's repository, at once.
    const rotations = [1, 2].map(() => new KeyRotation(new BrokerCredentialRepository(db.dataSource), keys, CONFIG));
    const [one, two] = await Promise.all(rotations.map((r) => r.rotate({ toKeyId: newKey, batchSize: 20 })));
    // Each row was re-wrapped by exactly one of them; the other found it done (its conditional update missed).
    expect(one!.rewrapped + two!.rewrapped).toBe(RACED);
    expect(one!.failed + two!.failed).toBe(0);
    expect(await countsByKey(db)).toEqual({ [kms.arnOf(newKey)]: RACED });
    kms.disableKey(oldKey);
    const after = fakeKmsProvider(kms, newKey);
    cleanup.push(() => after.close());
    expect(await decryptable(db, after, owners)).toBe(RACED);
  });

  it('follows an alias moved to a new KMS key when no target is given', async () => {
    const oldKey = kms.createKey('alias/rotating');
    const newKey = kms.createKey();
    const keys = fakeKmsProvider(kms, 'alias/rotating');
    cleanup.push(() => keys.close());
    const { db, owners } = await storeCredentials(keys, 50);
    const rotation = new KeyRotation(new BrokerCredentialRepository(db.dataSource), keys, CONFIG);
    expect((await rotation.status()).currentKeyId).toBe(kms.arnOf(oldKey));
    const client = fakeKmsClient(kms);
    cleanup.push(() => Promise.resolve(client.destroy()));
    await client.send(new UpdateAliasCommand({ AliasName: 'alias/rotating', TargetKeyId: newKey }));
    const result = await rotation.rotate();
    expect(result).toMatchObject({ toKeyId: kms.arnOf(newKey), total: 50, rewrapped: 50 });
    kms.disableKey(oldKey);
    expect(await decryptable(db, keys, owners)).toBe(50);
  });

  it('refuses to retire a local key credentials are still under', async () => {
    const keys = await LocalKeyProvider.open(join(dir, 'retire', 'master-key.json'));
    cleanup.push(() => keys.close());
    const db = await createTestDatabase();
    cleanup.push(() => db.drop());
    const [accountId] = await insertAccounts(db.dataSource, 'ret-', 1);
    const vault = new EnvelopeCredentialVault(new BrokerCredentialRepository(db.dataSource), keys, CONFIG);
    await vault.store(
      { accountId: accountId!, broker: 'alpaca', environment: 'paper' },
      { kind: 'api_key', keyId: 'k', secret: 's' },
    );
    const old = keys.currentKeyId();
    await keys.addKey();
    const rotation = new KeyRotation(new BrokerCredentialRepository(db.dataSource), keys, CONFIG);
    await expect(rotation.retireLocalKey(old)).rejects.toThrow(/1 credentials are still under/);
  });

  describe.each([
    {
      provider: 'aws-kms',
      setUp: () => {
        const oldKey = kms.createKey();
        const newKey = kms.createKey();
        const keys = fakeKmsProvider(kms, oldKey);
        cleanup.push(() => keys.close());
        const env = {
          KEY_PROVIDER: 'aws-kms',
          KMS_ENDPOINT: kms.url,
          KMS_REGION: kms.region,
          KMS_KEY_ID: newKey,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
        };
        return {
          keys,
          env,
          oldKey: kms.arnOf(oldKey),
          newKey: kms.arnOf(newKey),
          after: fakeKmsProvider(kms, newKey),
        };
      },
    },
    {
      provider: 'local',
      setUp: async () => {
        const file = join(dir, 'child', 'master-key.json');
        const keys = await LocalKeyProvider.open(file);
        cleanup.push(() => keys.close());
        // No --to: the first run makes the new master key, the second must finish under that same key.
        return {
          keys,
          env: { KEY_PROVIDER: 'local', LOCAL_MASTER_KEY_FILE: file },
          oldKey: keys.currentKeyId(),
          newKey: null,
          after: keys,
        };
      },
    },
  ])('in a child process with $provider', ({ provider, setUp }) => {
    it('killed with SIGKILL half-way and run again, loses and double-wraps nothing', { timeout: 240_000 }, async () => {
      const { keys, env, oldKey, newKey, after } = await setUp();
      cleanup.push(() => after.close());
      const { db, owners } = await storeCredentials(keys);
      const childEnv = { ...env, DATABASE_URL: db.url, GATEWAY_ENVIRONMENTS: 'paper' };

      const first = await runRotation(childEnv, ['rotate', '--in-process', '--batch-size', '25'], 300).done;
      expect(first.signal).toBe('SIGKILL');
      const progress = first.lines;
      expect(progress.length).toBeGreaterThanOrEqual(300);
      expect(first.result).toBeNull();
      const toKeyId: string = newKey ?? progress[0].toKeyId;
      expect(toKeyId).not.toBe(oldKey);
      const midway = await countsByKey(db);
      // Cut short: some under the new key, the rest still under the old one, none anywhere else.
      expect(Object.keys(midway).sort()).toEqual([oldKey, toKeyId].sort());
      expect(midway[toKeyId]).toBeGreaterThanOrEqual(299);
      expect(midway[oldKey]).toBeGreaterThan(0);
      expect(midway[toKeyId]! + midway[oldKey]!).toBe(COUNT);

      const second = await runRotation(childEnv, ['rotate', '--in-process', '--batch-size', '25']).done;
      expect(second.code, second.stderr).toBe(0);
      const done = second.result;
      expect(done).toMatchObject({ toKeyId, total: midway[oldKey], failed: 0, skipped: 0 });
      expect(done.rewrapped + done.alreadyDone).toBe(midway[oldKey]);
      expect(await countsByKey(db)).toEqual({ [toKeyId]: COUNT });

      if (provider === 'aws-kms') {
        // Nothing needs the old KMS key any more: disabled, and every credential still decrypts.
        kms.disableKey(oldKey);
        expect(kms.keyState(oldKey)).toBe('Disabled');
      }
      expect(await decryptable(db, after, owners)).toBe(COUNT);
      const status = await runRotation(childEnv, ['status']).done;
      expect(status.result).toMatchObject({ keys: [{ keyId: toKeyId, credentials: COUNT }] });
    });
  });

  describe('as a job of the key-rotation queue, run by the gateway', () => {
    it(
      'survives the gateway running it being killed with SIGKILL half-way: the restarted gateway finishes the same job under the same key',
      { timeout: 240_000 },
      async () => {
        const file = join(dir, 'queued', 'master-key.json');
        const keys = await LocalKeyProvider.open(file);
        cleanup.push(() => keys.close());
        const oldKey = keys.currentKeyId();
        // Paper accounts, which the gateway serves with its in-process venue.
        const { db, owners } = await storeCredentials(keys, COUNT, 'paper');
        const env = {
          DATABASE_URL: db.url,
          REDIS_PREFIX: redisPrefix(),
          LOCAL_MASTER_KEY_FILE: file,
          GATEWAY_ENVIRONMENTS: 'paper',
          // A killed worker's job is taken over 1-2 s after its lock lapses.
          JOBS_LOCK_DURATION_MS: '2000',
          JOBS_STALLED_INTERVAL_MS: '1000',
          RECONCILE_INTERVAL_MS: '3600000',
          LOG_LEVEL: 'info',
        };
        const first = await startGatewayProcess(env);
        cleanup.push(() => first.stop('SIGKILL'));
        const admin = new Api(
          first.url,
          await signWithDevKey(db.dataSource, { sub: 'rotation-admin', roles: ['admin'], accounts: ['*'] }),
        );

        // Without a worker on the queue the CLI refuses to enqueue (exit 2), naming --in-process.
        const noWorker = await runRotation({ ...env, REDIS_PREFIX: redisPrefix() }, ['rotate']).done;
        expect(noWorker.code, JSON.stringify(noWorker)).toBe(2);
        expect(noWorker.result.error).toMatchObject({ code: 'jobs.no_worker' });
        expect(noWorker.result.error.message).toContain('--in-process');

        // The CLI enqueues and follows; once the job is seen active in GET /v1/ops/jobs and 300 credentials
        // are done, the gateway running it is killed.
        let seenActive: Promise<number> | undefined;
        let killed: Promise<unknown> | undefined;
        const run = runRotation(env, ['rotate', '--batch-size', '25'], undefined, (line) => {
          seenActive ??= admin
            .get('/v1/ops/jobs')
            .then((res) => res.body.queues.find((q: { name: string }) => q.name === 'key-rotation').active);
          if (line.done >= 300 && killed === undefined) {
            killed = seenActive.then(() => first.stop('SIGKILL'));
          }
        });
        await eventually(() => Promise.resolve(killed !== undefined), 60_000, 'the gateway killed half-way').catch(
          (error: Error) => {
            throw new Error(
              `${error.message}\nCLI: ${run.stderr().slice(-2000)}\ngateway: ${first.output().slice(-3000)}`,
            );
          },
        );
        await killed;
        expect(await seenActive).toBe(1);
        const midway = await countsByKey(db);
        const toKeyId = Object.keys(midway).find((k) => k !== oldKey)!;
        expect(Object.keys(midway).sort(), 'cut short: under the old key and one new one').toEqual(
          [oldKey, toKeyId].sort(),
        );
        expect(midway[toKeyId]).toBeGreaterThanOrEqual(300);
        expect(midway[oldKey]).toBeGreaterThan(0);
        expect(run.child.exitCode, 'the CLI follows on').toBeNull();

        // The gateway starts again; its worker takes the stalled job over and finishes it.
        const second = await startGatewayProcess(env);
        cleanup.push(() => second.stop('SIGKILL'));
        const done = await run.done;
        expect(done.code, done.stderr).toBe(0);
        expect(done.result).toMatchObject({
          toKeyId,
          total: COUNT,
          done: COUNT,
          resumed: midway[toKeyId],
          failed: 0,
          skipped: 0,
        });
        expect(done.result.rewrapped + done.result.alreadyDone).toBe(midway[oldKey]);
        expect(done.lines.at(-1)).toMatchObject({ jobId: done.result.jobId, done: COUNT, total: COUNT, attempt: 2 });
        // Every credential under the one new key (no third key made by the takeover), each decrypting.
        expect(await countsByKey(db)).toEqual({ [toKeyId]: COUNT });
        expect(JSON.parse(await readFile(file, 'utf8')).keys.map((k: { id: string }) => k.id)).toEqual([
          oldKey,
          toKeyId,
        ]);
        const reopened = await LocalKeyProvider.open(file);
        cleanup.push(() => reopened.close());
        expect(await decryptable(db, reopened, owners)).toBe(COUNT);
        expect(second.output()).toContain('key rotation finished');

        // A rotation to a key that does not exist fails for good at once (no retries), shown by the CLI
        // (exit 1) and in GET /v1/ops/jobs with its reason.
        const missing = await runRotation(env, ['rotate', '--to', 'local-0000000000000000']).done;
        expect(missing.code, missing.stderr).toBe(1);
        expect(missing.result.error).toMatchObject({ code: 'keys.rotation_failed' });
        expect(missing.result.error.message).toContain('NotFoundException');
        const jobs = await new Api(second.url, admin.token).get('/v1/ops/jobs');
        const queue = jobs.body.queues.find((q: { name: string }) => q.name === 'key-rotation');
        expect(queue).toMatchObject({ failed: 1, active: 0, waiting: 0, delayed: 0 });
        expect(queue.lastFailures[0].reason).toContain('NotFoundException');
        expect(await countsByKey(db)).toEqual({ [toKeyId]: COUNT });
      },
    );

    it(
      'retries with back-off while KMS is unreachable (delayed in GET /v1/ops/jobs), and finishes once KMS is back',
      { timeout: 240_000 },
      async () => {
        const oldKey = kms.createKey();
        const newKey = kms.createKey();
        const keys = fakeKmsProvider(kms, oldKey);
        cleanup.push(() => keys.close());
        const { db, owners } = await storeCredentials(keys, COUNT, 'paper');
        const env = {
          DATABASE_URL: db.url,
          REDIS_PREFIX: redisPrefix(),
          GATEWAY_ENVIRONMENTS: 'paper',
          KEY_PROVIDER: 'aws-kms',
          KMS_ENDPOINT: kms.url,
          KMS_REGION: kms.region,
          KMS_KEY_ID: newKey,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          RECONCILE_INTERVAL_MS: '3600000',
          LOG_LEVEL: 'info',
        };
        const gw = await startGatewayProcess(env);
        cleanup.push(() => gw.stop('SIGKILL'));
        const admin = new Api(
          gw.url,
          await signWithDevKey(db.dataSource, { sub: 'rotation-admin', roles: ['admin'], accounts: ['*'] }),
        );
        const queue = async () =>
          (await admin.get('/v1/ops/jobs')).body.queues.find((q: { name: string }) => q.name === 'key-rotation');

        // KMS becomes unreachable once 200 credentials are done: the attempt fails, the job waits out its back-off.
        let cut = false;
        const run = runRotation(env, ['rotate', '--batch-size', '25'], undefined, (line) => {
          if (!cut && line.done >= 200) {
            cut = true;
            kms.setDown(true);
          }
        });
        let waiting: { delayed: number; active: number; failed: number };
        try {
          waiting = await eventually(
            async () => {
              const q = await queue();
              return q.delayed === 1 && q;
            },
            60_000,
            'the rotation waiting out its back-off',
          );
        } finally {
          kms.setDown(false);
        }
        expect(waiting).toMatchObject({ delayed: 1, active: 0, failed: 0 });
        const midway = await countsByKey(db);
        const toKeyId = kms.arnOf(newKey);
        expect(midway[toKeyId]).toBeGreaterThanOrEqual(200);
        expect(midway[kms.arnOf(oldKey)]).toBeGreaterThan(0);
        await eventually(
          () =>
            Promise.resolve(
              /"queue":"key-rotation".*"attempt":1,"reason":"KeyProviderError: AWS KMS could not be reached[^"]*","msg":"job attempt failed"/.test(
                gw.output(),
              ),
            ),
          10_000,
          'the failed attempt in the log',
        );

        // KMS is back: the next attempt re-wraps the rest, under the same key, and the CLI prints the result.
        const done = await run.done;
        expect(done.code, done.stderr).toBe(0);
        expect(done.result).toMatchObject({ toKeyId, total: COUNT, done: COUNT, failed: 0 });
        // What was re-wrapped before KMS went away is not done again.
        expect(done.result.rewrapped + done.result.alreadyDone).toBe(COUNT - done.result.resumed);
        expect(done.result.resumed).toBeGreaterThanOrEqual(midway[toKeyId]!);
        expect(done.lines.at(-1).attempt).toBeGreaterThanOrEqual(2);
        expect(await countsByKey(db)).toEqual({ [toKeyId]: COUNT });
        kms.disableKey(oldKey);
        const after = fakeKmsProvider(kms, newKey);
        cleanup.push(() => after.close());
        expect(await decryptable(db, after, owners)).toBe(COUNT);
        expect((await queue()).failed).toBe(0);
      },
    );
  });
});
