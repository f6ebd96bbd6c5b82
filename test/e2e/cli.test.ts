import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { type CliRun, type GatewayProcess, runCli, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually } from '../support/http.js';
import { apiAs } from '../support/risk.js';

/**
 * The admin CLI (`gateway <command>`, README "Admin CLI") against a running gateway process: `--json` on every
 * command, exit 0 / 1 (failed or refused) / 2 (could not run), and the commands that mirror a REST route go
 * through it, so they are audited as the route is (subject `cli:<user>`).
 */
let db: TestDatabase;
let gw: GatewayProcess;
let admin: Api;
let env: Record<string, string>;
const keyDir = mkdtempSync(join(tmpdir(), 'gateway-cli-keys-'));
const subject = `cli:${userInfo().username}`;

const cli = (...args: string[]): Promise<CliRun> => runCli(args, env);
const json = (run: CliRun): any => JSON.parse(run.stdout);

beforeAll(async () => {
  db = await createTestDatabase();
  const prefix = redisPrefix();
  // Its own local master key file: rotating it must not touch the one other tests' gateways share.
  const keyFile = join(keyDir, 'master-key.json');
  gw = await startGatewayProcess({ DATABASE_URL: db.url, REDIS_PREFIX: prefix, LOCAL_MASTER_KEY_FILE: keyFile });
  env = { DATABASE_URL: db.url, REDIS_PREFIX: prefix, GATEWAY_URL: gw.url, LOCAL_MASTER_KEY_FILE: keyFile };
  admin = await apiAs(db.dataSource, gw.url, 'cli-test-admin', ['admin']);
});
afterAll(async () => {
  await gw?.stop('SIGKILL');
  await db?.drop();
  rmSync(keyDir, { recursive: true, force: true });
});

describe('the admin CLI', () => {
  it('lists accounts, as text and as JSON', async () => {
    const listed = await cli('--json', 'accounts', 'list');
    expect(listed.code).toBe(0);
    expect(json(listed).accounts.map((a: { id: string }) => a.id)).toContain(gw.accountId);
    const text = await cli('accounts', 'list');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${gw.accountId}\tpaper-demo\tpaper\tpaper`);
  });

  it('halts and re-arms an account through the REST route, audited as the CLI user', async () => {
    const on = await cli(
      '--json',
      'kill-switch',
      'on',
      '--scope',
      'account',
      '--account',
      gw.accountId,
      '--reason',
      'cli test',
    );
    expect(on.code, on.stderr).toBe(0);
    expect(json(on)).toMatchObject({ state: 'halted' });
    const off = await cli(
      '--json',
      'kill-switch',
      'off',
      '--scope',
      'account',
      '--account',
      gw.accountId,
      '--reason',
      'done',
    );
    expect(off.code, off.stderr).toBe(0);
    expect(json(off)).toMatchObject({ state: 'active' });
    // Audit entries are written once the response has gone: wait for them.
    const entries = await eventually(async () => {
      const page = (await admin.get('/v1/audit?limit=1000')).body.entries as {
        subject: string;
        action: string;
        status: number;
      }[];
      const ours = page.filter((e) => e.subject === subject);
      return ours.length >= 2 && ours;
    });
    expect(entries.map((e) => [e.action, e.status])).toEqual([
      ['risk.halt', 202],
      ['risk.rearm', 200],
    ]);
  });

  it('reconciles an account and reports a refusal with exit 1 and the problem code', async () => {
    const done = await cli('--json', 'reconcile', gw.accountId);
    expect(done.code, done.stderr).toBe(0);
    expect(json(done)).toEqual({ orders: [] });
    const missing = await cli('--json', 'reconcile', '00000000-0000-4000-8000-000000000000');
    expect(missing.code).toBe(1);
    expect(json(missing).error.code).toBe('account.not_found');
    const text = await cli('reconcile', '00000000-0000-4000-8000-000000000000');
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/^gateway: POST .*: 404 account\.not_found/);
  });

  it('exits 2 when it cannot run: the gateway unreachable, a usage error, bad configuration', async () => {
    const unreachable = await runCli(['--json', '--url', 'http://127.0.0.1:9', 'accounts', 'list'], env);
    expect(unreachable.code).toBe(2);
    expect(json(unreachable).error.code).toBe('gateway.unreachable');
    const usage = await cli('kill-switch', 'on', '--reason', 'no scope');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--scope');
    const badConfig = await runCli(['accounts', 'list'], { ...env, PORT: 'not-a-port', GATEWAY_URL: '' });
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toContain('PORT');
  });

  it('signs dev-issuer tokens and verifies the audit log', async () => {
    const token = await cli('--json', 'token', '--sub', 'someone', '--role', 'viewer');
    expect(token.code).toBe(0);
    const viewer = new Api(gw.url, json(token).token);
    expect((await viewer.get('/v1/accounts')).status).toBe(200);
    const verified = await cli('--json', 'audit', 'verify');
    expect(verified.code, verified.stderr).toBe(0);
    expect(json(verified)).toMatchObject({ intact: true });
    expect(json(verified).entries).toBeGreaterThan(0);
  });

  it('lists credentials without their secrets, and rotates their keys with progress, audited', async () => {
    const secret = 'cli-test-secret-5f0c2a';
    const put = await admin.request('PUT', `/v1/accounts/${gw.accountId}/broker-credentials`, {
      kind: 'api_key',
      keyId: 'cli-test-key-id',
      secret,
    });
    expect(put.status).toBe(204);
    const listed = await cli('--json', 'credentials', 'list');
    expect(listed.code, listed.stderr).toBe(0);
    expect(json(listed).credentials).toEqual([
      expect.objectContaining({ accountId: gw.accountId, broker: 'paper', environment: 'paper', kind: 'api_key' }),
    ]);
    expect(listed.stdout).not.toContain(secret);
    const before = json(await cli('--json', 'keys', 'status'));
    expect(before.keys).toEqual([expect.objectContaining({ keyId: before.currentKeyId, credentials: 1 })]);

    const rotated = await cli('--json', 'keys', 'rotate');
    expect(rotated.code, rotated.stderr).toBe(0);
    const result = json(rotated);
    expect(result).toMatchObject({ total: 1, rewrapped: 1, failed: 0 });
    expect(result.toKeyId).not.toBe(before.currentKeyId);
    const progress = rotated.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(progress.at(-1)).toEqual({
      progress: expect.objectContaining({
        label: 'keys rotate',
        done: 1,
        total: 1,
        rewrapped: 1,
        toKeyId: result.toKeyId,
      }),
    });
    const after = json(await cli('--json', 'keys', 'status'));
    expect(after.currentKeyId).toBe(result.toKeyId);
    expect(after.keys).toEqual([expect.objectContaining({ keyId: result.toKeyId, credentials: 1 })]);
    // Run again: nothing left to re-wrap.
    expect(json(await cli('--json', 'keys', 'rotate', '--to', result.toKeyId))).toMatchObject({
      total: 0,
      rewrapped: 0,
    });

    const rotations = await eventually(async () => {
      const page = (await admin.get('/v1/audit?limit=1000')).body.entries as {
        subject: string;
        action: string;
        method: string;
      }[];
      const ours = page.filter((e) => e.subject === subject && e.action === 'keys.rotate');
      return ours.length >= 2 && ours;
    });
    expect(rotations.map((e) => e.method)).toEqual(['CLI', 'CLI']);
  });
});
