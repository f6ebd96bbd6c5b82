import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestingModule } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertAccount } from '../../../../test/support/credentials.js';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../../../../test/support/database.js';
import { orderPathTestingModule } from '../../../../test/support/testing-module.js';
import { type FakeOAuthServer, startFakeOAuthServer } from '../../../fake-brokers/src/oauth/index.js';
import type { Principal } from '../auth/principal.js';
import { type GatewayConfig, loadConfig } from '../config/config.js';
import { BrokerCredentialRepository } from '../credentials/broker-credential.repository.js';
import { CREDENTIAL_VAULT, type CredentialVault } from '../credentials/broker-secrets.js';
import { EnvelopeCredentialVault } from '../credentials/envelope-credential-vault.js';
import { KEY_PROVIDER, type KeyProvider } from '../credentials/key-provider.js';
import { LocalKeyProvider } from '../credentials/local-key-provider.js';
import { GatewayMetrics } from '../health/metrics.js';
import { BrokerConnectionRepository } from './broker-connection.repository.js';
import { BrokerConnectionsService } from './broker-connections.service.js';
import { TokenRefresher } from './token-refresher.js';

/**
 * The timing of token refresh on a manual clock shared by the gateway's services and the fake Schwab and
 * Alpaca authorization servers (real lifetimes: access 30 min, refresh 7 days): refreshed before expiry with
 * jitter, never a moment without a valid access token over hours; one refresh per connection across two
 * instances; a transient failure retried with backoff; the state expiring; the seven days running out.
 */

const START = Date.parse('2026-12-01T14:00:00.000Z');
const clock = { t: START, now: () => clock.t };
const admin: Principal = { subject: 'spec-admin' } as Principal;
let db: TestDatabase;
let dir: string;
let keys: KeyProvider;
let schwab: FakeOAuthServer;
let alpaca: FakeOAuthServer;
const modules: TestingModule[] = [];

async function instance(config: GatewayConfig): Promise<TestingModule> {
  const module = await orderPathTestingModule({ dataSource: db.dataSource, config, clock }, [
    { provide: KEY_PROVIDER, useValue: keys },
    BrokerCredentialRepository,
    EnvelopeCredentialVault,
    { provide: CREDENTIAL_VAULT, useExisting: EnvelopeCredentialVault },
    BrokerConnectionRepository,
    BrokerConnectionsService,
    TokenRefresher,
  ]);
  modules.push(module);
  return module;
}

let gatewayA: TestingModule;
let gatewayB: TestingModule;
const service = () => gatewayA.get(BrokerConnectionsService);
const refresherA = () => gatewayA.get(TokenRefresher);
const repo = () => gatewayA.get(BrokerConnectionRepository);
const vault = () => gatewayA.get<CredentialVault>(CREDENTIAL_VAULT);
const REDIRECT = 'https://gateway.example/v1/oauth';

/** Connects the account: the authorize URL, the fake's redirect, the callback. */
async function connect(accountId: string, broker: 'schwab' | 'alpaca'): Promise<void> {
  const account = (await repo().account(accountId))!;
  const start = await service().start({ ...account } as never, admin, undefined);
  const res = await fetch(start.authorizeUrl, { redirect: 'manual' });
  const back = new URL(res.headers.get('location')!);
  expect(back.pathname).toBe(`/v1/oauth/${broker}/callback`);
  const outcome = await service().complete(broker, Object.fromEntries(back.searchParams));
  expect(outcome, JSON.stringify(outcome)).toMatchObject({ status: 200, title: 'Broker connected' });
}

async function accessToken(accountId: string): Promise<string> {
  const account = (await repo().account(accountId))!;
  const secrets = await vault().load({ accountId, broker: account.broker, environment: account.environment });
  expect(secrets?.kind).toBe('oauth');
  return secrets!.kind === 'oauth' ? secrets!.accessToken : '';
}

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'gw-refresh-'));
  keys = await LocalKeyProvider.open(join(dir, 'master-key.json'));
  schwab = await startFakeOAuthServer({ broker: 'schwab', clientId: 'sk', clientSecret: 'ss', clock, pkce: true });
  alpaca = await startFakeOAuthServer({ broker: 'alpaca', clientId: 'ak', clientSecret: 'as', clock });
  const config = loadConfig({
    REDIS_PREFIX: redisPrefix(),
    OAUTH_SCHWAB_CLIENT_ID: 'sk',
    OAUTH_SCHWAB_CLIENT_SECRET: 'ss',
    OAUTH_SCHWAB_AUTHORIZE_URL: schwab.authorizeUrl,
    OAUTH_SCHWAB_TOKEN_URL: schwab.tokenUrl,
    OAUTH_SCHWAB_REDIRECT_URI: `${REDIRECT}/schwab/callback`,
    OAUTH_SCHWAB_PKCE: 'true',
    OAUTH_ALPACA_CLIENT_ID: 'ak',
    OAUTH_ALPACA_CLIENT_SECRET: 'as',
    OAUTH_ALPACA_AUTHORIZE_URL: alpaca.authorizeUrl,
    OAUTH_ALPACA_TOKEN_URL: alpaca.tokenUrl,
    OAUTH_ALPACA_REDIRECT_URI: `${REDIRECT}/alpaca/callback`,
  });
  gatewayA = await instance(config);
  gatewayB = await instance(config);
});

afterAll(async () => {
  await Promise.all(modules.map((m) => m.close()));
  await schwab?.close();
  await alpaca?.close();
  await keys?.close();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('TokenRefresher (manual clock, fake authorization servers)', () => {
  it('answers a page, not a connection, when the broker refuses the code (its 30 s are over) or is down', async () => {
    const id = await insertAccount(db.dataSource, 'callback-faults', 'paper', 'schwab');
    const account = (await repo().account(id))!;
    const follow = async () => {
      const start = await service().start({ ...account } as never, admin, undefined);
      const res = await fetch(start.authorizeUrl, { redirect: 'manual' });
      return Object.fromEntries(new URL(res.headers.get('location')!).searchParams);
    };
    const late = await follow();
    clock.t += 31_000;
    expect(await service().complete('schwab', late)).toEqual({
      status: 400,
      title: 'Broker not connected',
      message: 'The broker refused the authorization code (invalid_grant). Start a new authorization.',
    });
    const query = await follow();
    schwab.setDown(true);
    try {
      expect(await service().complete('schwab', query)).toMatchObject({ status: 502 });
    } finally {
      schwab.setDown(false);
    }
    expect(await repo().find(id)).toBeNull();
    const [{ n }] = await db.dataSource.query(
      `SELECT count(*)::int AS n FROM broker_credentials WHERE account_id = $1`,
      [id],
    );
    expect(n).toBe(0);
  });

  it('refreshes before expiry with jitter: over six hours the stored access token is always valid at the broker', async () => {
    const id = await insertAccount(db.dataSource, 'refresh-hours', 'paper', 'schwab');
    await connect(id, 'schwab');
    const first = (await repo().find(id))!;
    expect(first.accessExpiresAt).toBe(clock.t + 1_800_000);
    // Due 300 s before expiry, up to 60 s earlier (jitter), not before.
    expect(first.nextRefreshAt).toBeGreaterThanOrEqual(first.accessExpiresAt! - 360_000);
    expect(first.nextRefreshAt).toBeLessThanOrEqual(first.accessExpiresAt! - 300_000);
    expect(await refresherA().refreshDue(first.nextRefreshAt! - 1)).toEqual([]);

    const refreshedAt: number[] = [];
    const dueTimes = new Set<number>();
    for (let step = 0; step < 6 * 60; step++) {
      clock.t += 60_000;
      const outcomes = await refresherA().refreshDue();
      refreshedAt.push(...outcomes.filter((o) => o.kind === 'refreshed').map(() => clock.t));
      const token = await accessToken(id);
      expect(schwab.isAccessTokenValid(token), `minute ${step + 1}`).toBe(true);
      dueTimes.add((await repo().find(id))!.nextRefreshAt! - (await repo().find(id))!.accessExpiresAt!);
    }
    // About one refresh per 25 minutes, each rotating the refresh token, all within the login's seven days.
    expect(refreshedAt.length).toBeGreaterThanOrEqual(12);
    expect(refreshedAt.length).toBeLessThanOrEqual(15);
    const last = (await repo().find(id))!;
    expect(last).toMatchObject({ status: 'connected', lastRefreshOutcome: 'ok', refreshFailures: 0 });
    expect(last.refreshExpiresAt).toBe(first.refreshExpiresAt);
    // The jitter spreads the due times (a fixed lead would give one value).
    expect(dueTimes.size).toBeGreaterThan(1);
  });

  it('lets one instance refresh a connection at a time: two racing refreshers send one refresh', async () => {
    const id = await insertAccount(db.dataSource, 'refresh-race', 'paper', 'schwab');
    await connect(id, 'schwab');
    clock.t = (await repo().find(id))!.nextRefreshAt!;
    const before = schwab.tokenRequests.filter((r) => r.grantType === 'refresh_token').length;
    const outcomes = await Promise.all([refresherA().refresh(id), gatewayB.get(TokenRefresher).refresh(id)]);
    expect(outcomes.map((o) => o.kind).sort()).toEqual(['refreshed', 'skipped']);
    expect(schwab.tokenRequests.filter((r) => r.grantType === 'refresh_token').length - before).toBe(1);
    // Without the lock the second refresh would present the rotated-away token and be refused for good.
    expect((await repo().find(id))!.status).toBe('connected');
  });

  it('retries a failure that may pass with backoff, then recovers', async () => {
    const id = await insertAccount(db.dataSource, 'refresh-down', 'paper', 'schwab');
    await connect(id, 'schwab');
    clock.t = (await repo().find(id))!.nextRefreshAt!;
    schwab.setDown(true);
    const failed = await refresherA().refresh(id);
    expect(failed).toMatchObject({ kind: 'failing', retryAt: clock.t + 30_000 });
    expect((await repo().find(id))!).toMatchObject({
      status: 'refresh_failing',
      refreshFailures: 1,
      lastRefreshOutcome: 'failed: token endpoint: temporarily_unavailable (HTTP 503)',
    });
    clock.t += 30_000;
    expect(await refresherA().refresh(id)).toMatchObject({ kind: 'failing', retryAt: clock.t + 60_000 });
    const counted = await gatewayA
      .get(GatewayMetrics)
      .registry.getSingleMetricAsString('gateway_broker_token_refreshes_total');
    expect(counted).toMatch(/broker="schwab",outcome="failed"[^}]*\} 2/);
    schwab.setDown(false);
    clock.t += 60_000;
    expect((await refresherA().refresh(id)).kind).toBe('refreshed');
    expect((await repo().find(id))!).toMatchObject({
      status: 'connected',
      refreshFailures: 0,
      lastRefreshOutcome: 'ok',
    });
    const account = await db.dataSource.query(`SELECT entries_blocked_reason AS r FROM accounts WHERE id = $1`, [id]);
    expect(account[0].r).toBeNull();
  });

  it('needs a new login once the seven days are over: reauth_required, entries blocked (a restart block replaced)', async () => {
    const id = await insertAccount(db.dataSource, 'refresh-week', 'paper', 'schwab');
    await connect(id, 'schwab');
    const connected = (await repo().find(id))!;
    await db.dataSource.query(
      `UPDATE accounts SET entries_blocked_reason = 'restart: 1 uncertain order(s)' WHERE id = $1`,
      [id],
    );
    // The gateway was away for the whole week: the refresh token is dead when the refresh comes.
    clock.t = connected.refreshExpiresAt! + 1_000;
    expect(await refresherA().refresh(id)).toEqual({
      accountId: id,
      kind: 'reauth_required',
      reason: 'unsupported_token_type',
    });
    expect((await repo().find(id))!).toMatchObject({
      status: 'reauth_required',
      nextRefreshAt: null,
      lastRefreshOutcome: 'refused: unsupported_token_type',
    });
    const [row] = await db.dataSource.query(`SELECT entries_blocked_reason AS r FROM accounts WHERE id = $1`, [id]);
    expect(row.r).toMatch(/^broker_reauth_required: schwab refused the refresh token \(unsupported_token_type\)/);
    expect(await refresherA().refreshDue(clock.t + 3_600_000)).not.toContainEqual(
      expect.objectContaining({ accountId: id }),
    );
    const gauge = await gatewayA
      .get(GatewayMetrics)
      .registry.getSingleMetricAsString('gateway_broker_refresh_token_expiry_seconds');
    expect(gauge).toContain(
      `gateway_broker_refresh_token_expiry_seconds{account="${id}",broker="schwab",environments="paper"} -1`,
    );
    await connect(id, 'schwab');
    const [after] = await db.dataSource.query(`SELECT entries_blocked_reason AS r FROM accounts WHERE id = $1`, [id]);
    expect(after.r).toBeNull();
    expect((await repo().find(id))!.status).toBe('connected');
  });

  it('refuses a state that expired, and never refreshes an Alpaca connection (no expiry, no refresh token)', async () => {
    const id = await insertAccount(db.dataSource, 'alpaca-oauth', 'paper', 'alpaca');
    const account = (await repo().account(id))!;
    const start = await service().start({ ...account } as never, admin, undefined);
    const back = new URL((await fetch(start.authorizeUrl, { redirect: 'manual' })).headers.get('location')!);
    clock.t += 600_001;
    expect(await service().complete('alpaca', Object.fromEntries(back.searchParams))).toMatchObject({
      status: 400,
      message: 'This authorization has expired. Start a new one.',
    });
    // Taken out: the same state again is unknown.
    expect((await service().complete('alpaca', Object.fromEntries(back.searchParams))).message).toContain('unknown');
    await connect(id, 'alpaca');
    expect((await repo().find(id))!).toMatchObject({
      status: 'connected',
      accessExpiresAt: null,
      refreshExpiresAt: null,
      nextRefreshAt: null,
    });
    expect(alpaca.tokenRequests.map((r) => [r.grantType, r.clientAuth, r.status])).toEqual([
      ['authorization_code', 'form', 200],
    ]);
    clock.t += 86_400_000;
    expect((await refresherA().refreshDue()).map((o) => o.accountId)).not.toContain(id);
  });
});
