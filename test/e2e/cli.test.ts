import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeOAuthServer, startFakeOAuthServer } from '../../apps/fake-brokers/src/oauth/index.js';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import {
  type CliRun,
  type GatewayProcess,
  runCli,
  runCommand,
  startGatewayProcess,
} from '../support/gateway-process.js';
import { Api, eventually } from '../support/http.js';
import { apiAs } from '../support/risk.js';
import { startVenueProcess, type VenueProcess } from '../support/venue-process.js';

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

const CLIENT_ID = 'schwab-app-key-cli';
const CLIENT_SECRET = `schwab-secret-${randomBytes(12).toString('hex')}`;
let fake: FakeOAuthServer;
let venue: VenueProcess;
/** Everything every CLI run printed, for the secret scan. */
const printed: string[] = [];

const cli = async (...args: string[]): Promise<CliRun> => {
  const run = await runCli(args, env);
  printed.push(run.stdout, run.stderr);
  return run;
};
const json = (run: CliRun): any => JSON.parse(run.stdout);

/** The CLI user's audit entries (written once each response has gone: waited for until `atLeast` are there). */
async function cliAudit(atLeast: number, action?: string): Promise<any[]> {
  return eventually(async () => {
    const page = (await admin.get('/v1/audit?limit=1000')).body.entries as { subject: string; action: string }[];
    const ours = page.filter((e) => e.subject === subject && (action === undefined || e.action === action));
    return ours.length >= atLeast && ours;
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  venue = await startVenueProcess({});
  fake = await startFakeOAuthServer({
    broker: 'schwab',
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    pkce: true,
    accessTtlSeconds: 1800,
  });
  const prefix = redisPrefix();
  // Its own local master key file: rotating it must not touch the one other tests' gateways share.
  const keyFile = join(keyDir, 'master-key.json');
  // The gateway's configuration, which the CLI reads too (as an operator's shell would have it).
  const config = {
    DATABASE_URL: db.url,
    REDIS_PREFIX: prefix,
    LOCAL_MASTER_KEY_FILE: keyFile,
    // A second broker, Schwab over OAuth against the fake authorization server; a paper-venue process
    // stands in for its trading API.
    BROKERS: 'paper,schwab',
    BROKER_SCHWAB_ADAPTER: 'paper-http',
    BROKER_SCHWAB_URL: venue.url,
    OAUTH_SCHWAB_CLIENT_ID: CLIENT_ID,
    OAUTH_SCHWAB_CLIENT_SECRET: CLIENT_SECRET,
    OAUTH_SCHWAB_AUTHORIZE_URL: fake.authorizeUrl,
    OAUTH_SCHWAB_TOKEN_URL: fake.tokenUrl,
    // The gateway's port is known only once it listens: `broker connect --redirect-uri` names the callback.
    OAUTH_SCHWAB_REDIRECT_URI: 'http://127.0.0.1:9/v1/oauth/schwab/callback',
    OAUTH_SCHWAB_PKCE: 'true',
  };
  gw = await startGatewayProcess(config);
  env = { ...config, GATEWAY_URL: gw.url };
  admin = await apiAs(db.dataSource, gw.url, 'cli-test-admin', ['admin']);
}, 60_000);
afterAll(async () => {
  await gw?.stop('SIGKILL');
  await fake?.close();
  await venue?.stop();
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

  it('npm run token runs the built CLI, without building the project again', async () => {
    // `npm test` builds right before the tests: the build is newer than every source, so nothing is rebuilt.
    const { code, stdout, stderr } = await runCommand(
      'npm',
      ['run', '-s', 'token', '--', '--sub', 'npm-token', '--role', 'viewer'],
      env,
    );
    expect(code, stderr).toBe(0);
    expect(stderr).not.toContain('building the project');
    expect((await new Api(gw.url, stdout.trim()).get('/v1/accounts')).status).toBe(200);
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
    // A job of the key-rotation queue, run by the gateway's worker.
    expect(result).toMatchObject({ jobId: expect.any(String), total: 1, rewrapped: 1, failed: 0, resumed: 0 });
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
        status: number;
        target: Record<string, string>;
      }[];
      const ours = page.filter((e) => e.subject === subject && e.action === 'keys.rotate');
      return ours.length >= 2 && ours;
    });
    // Audited when enqueued: 202 with the job's id.
    expect(rotations.map((e) => [e.method, e.status])).toEqual([
      ['CLI', 202],
      ['CLI', 202],
    ]);
    expect(rotations[0]!.target).toEqual({ jobId: result.jobId });
  });

  it(
    'creates accounts through POST /v1/accounts, audited as the route is, and lists them',
    { timeout: 120_000 },
    async () => {
      const created = await cli('--json', 'accounts', 'create', '--name', 'cli-schwab', '--broker', 'schwab');
      expect(created.code, created.stderr).toBe(0);
      const account = json(created);
      expect(account).toMatchObject({ name: 'cli-schwab', broker: 'schwab', environment: 'paper' });
      const text = await cli('accounts', 'create', '--name', 'cli-paper-2', '--broker', 'paper');
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/^created \S+\tcli-paper-2\tpaper\tpaper\t/);

      // Refused by the route: exit 1 with its problem code, nothing made.
      const unknownBroker = await cli('--json', 'accounts', 'create', '--name', 'cli-nope', '--broker', 'kalshi');
      expect(unknownBroker.code).toBe(1);
      expect(json(unknownBroker).error.code).toBe('account.broker_not_configured');
      const again = await cli('--json', 'accounts', 'create', '--name', 'cli-schwab', '--broker', 'schwab');
      expect(again.code).toBe(1);
      expect(json(again).error.code).toMatch(/^account\./);
      const badEnvironment = await cli(
        'accounts',
        'create',
        '--name',
        'x',
        '--broker',
        'paper',
        '--environment',
        'demo',
      );
      expect(badEnvironment.code).toBe(2);
      expect(badEnvironment.stderr).toContain('--environment');

      const listed = json(await cli('--json', 'accounts', 'list')).accounts as { id: string; name: string }[];
      expect(listed.map((a) => a.name).sort()).toEqual(['cli-paper-2', 'cli-schwab', 'paper-demo']);
      expect((await cli('accounts', 'list')).stdout).toContain(`${account.id}\tcli-schwab\tschwab\tpaper`);

      // Audited as POST /v1/accounts: the CLI user, the action, the status, refusals included.
      const entries = await cliAudit(4, 'accounts.create');
      expect(entries.map((e) => [e.method, e.route, e.status])).toEqual([
        ['POST', '/v1/accounts', 201],
        ['POST', '/v1/accounts', 201],
        ['POST', '/v1/accounts', 422],
        ['POST', '/v1/accounts', expect.any(Number)],
      ]);
      expect(entries[3].status).toBeGreaterThanOrEqual(400);
    },
  );

  it(
    'connects a Schwab account: broker connect prints the authorize URL, broker status shows the connection',
    { timeout: 120_000 },
    async () => {
      const account = (json(await cli('--json', 'accounts', 'list')).accounts as any[]).find(
        (a) => a.name === 'cli-schwab',
      );
      const callback = `${gw.url}/v1/oauth/schwab/callback`;
      const before = await cli('--json', 'broker', 'status', account.id);
      expect(before.code, before.stderr).toBe(0);
      expect(json(before)).toMatchObject({ accountId: account.id, status: 'disconnected' });
      expect((await cli('broker', 'status')).stdout).toBe('no broker connections\n');

      const started = await cli('--json', 'broker', 'connect', account.id, '--redirect-uri', callback);
      expect(started.code, started.stderr).toBe(0);
      const { authorizeUrl, state, expiresAt } = json(started);
      expect(authorizeUrl.startsWith(`${fake.authorizeUrl}?`)).toBe(true);
      expect(new URL(authorizeUrl).searchParams.get('state')).toBe(state);
      expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
      // As text: the URL to open on a line of its own.
      const text = await cli('broker', 'connect', account.id, '--redirect-uri', callback);
      expect(text.code, text.stderr).toBe(0);
      const printedUrl = text.stdout.trim().split('\n').at(-1)!;
      expect(printedUrl.startsWith(`${fake.authorizeUrl}?`)).toBe(true);

      // The admin logs in at the broker (the fake approves at once) and the browser comes back to the gateway.
      const redirect = await fetch(printedUrl, { redirect: 'manual' });
      expect(redirect.status).toBe(302);
      const page = await fetch(redirect.headers.get('location')!);
      printed.push(await page.text());
      expect(page.status).toBe(200);

      const status = await cli('--json', 'broker', 'status', account.id);
      expect(status.code, status.stderr).toBe(0);
      const connection = json(status);
      expect(connection).toMatchObject({ accountId: account.id, status: 'connected' });
      expect(Date.parse(connection.refreshExpiresAt) - Date.now()).toBeGreaterThan(6 * 86_400_000);
      const all = await cli('--json', 'broker', 'status');
      expect(json(all).connections).toEqual([
        { accountId: account.id, broker: 'schwab', connection: expect.objectContaining({ status: 'connected' }) },
      ]);
      const allText = await cli('broker', 'status', '--all');
      expect(allText.stdout).toContain(`${account.id}\tconnected\taccess until ${connection.accessExpiresAt}`);
      expect(allText.stdout).toMatch(/\tno broker connection/);

      // Refusals: an unknown account (exit 1, 404), a paper account (no OAuth broker: exit 1).
      const unknown = await cli('--json', 'broker', 'status', '00000000-0000-4000-8000-000000000000');
      expect(unknown.code).toBe(1);
      expect(json(unknown).error.code).toBe('account.not_found');
      const paper = await cli('--json', 'broker', 'connect', gw.accountId);
      expect(paper.code).toBe(1);
      expect(json(paper).error.code).toMatch(/\./);
      expect((await cli('broker', 'connect')).code).toBe(2);

      // broker connect is audited as its route (POST …/broker-connection).
      const audited = await cliAudit(3, 'brokerConnections.start');
      expect(audited.map((e) => [e.method, e.status])).toEqual([
        ['POST', 201],
        ['POST', 201],
        ['POST', expect.any(Number)],
      ]);

      // No token, code or client secret in anything the CLI printed (the state is in connect's answer by design).
      const out = printed.join('\n');
      for (const secret of [...fake.issuedSecrets(), CLIENT_SECRET]) {
        expect(out.includes(secret), 'a secret in the CLI output').toBe(false);
      }
    },
  );
});
