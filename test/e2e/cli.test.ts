import { userInfo } from 'node:os';
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
const subject = `cli:${userInfo().username}`;

const cli = (...args: string[]): Promise<CliRun> => runCli(args, env);
const json = (run: CliRun): any => JSON.parse(run.stdout);

beforeAll(async () => {
  db = await createTestDatabase();
  const prefix = redisPrefix();
  gw = await startGatewayProcess({ DATABASE_URL: db.url, REDIS_PREFIX: prefix });
  env = { DATABASE_URL: db.url, REDIS_PREFIX: prefix, GATEWAY_URL: gw.url };
  admin = await apiAs(db.dataSource, gw.url, 'cli-test-admin', ['admin']);
});
afterAll(async () => {
  await gw?.stop('SIGKILL');
  await db?.drop();
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
    const entries = await eventually(async () => {
      const page = (await admin.get('/v1/audit?limit=1000')).body.entries as {
        subject: string;
        action: string;
        status: number;
      }[];
      const ours = page.filter((e) => e.subject === subject);
      expect(ours.map((e) => [e.action, e.status])).toEqual([
        ['risk.halt', 202],
        ['risk.rearm', 200],
      ]);
      return ours;
    });
    expect(entries).toHaveLength(2);
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
});
