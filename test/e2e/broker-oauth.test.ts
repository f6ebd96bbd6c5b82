import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeOAuthServer, startFakeOAuthServer } from '../../apps/fake-brokers/src/oauth/index.js';
import { dumpData, secretForms } from '../support/credentials.js';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { expectProblem, orderWhen } from '../support/e2e.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually, type JsonResponse } from '../support/http.js';
import { signWithDevKey } from '../support/tokens.js';
import { startVenueProcess, type VenueProcess } from '../support/venue-process.js';

/**
 * Connecting a Schwab account over OAuth2 end to end (README, "Connecting a broker", "Schwab OAuth"): the built
 * gateway against the fake Schwab authorization server (PKCE on, its real wire: Basic client credentials,
 * rotating refresh tokens, the dead-refresh-token body), driven by passport-oauth2 inside the gateway.
 * The fake issues Schwab's real lifetimes (access 1800 s, refresh 604800 s from the login) on its own clock,
 * which the test advances. The gateway runs on the real clock, so it is told to refresh 1797 s before
 * expiry: the BullMQ `token-refresh` job's refresh of the 30-minute token is due 3 s after the login (and
 * 3 s after each refresh), long before the token expires. The broker's clock advanced past the seven days
 * then makes the next refresh meet a dead refresh token (Schwab's body). Until the Schwab
 * adapter is in the registry, a paper-venue process stands in for Schwab's trading API
 * (`BROKER_SCHWAB_ADAPTER=paper-http`).
 *
 * Shown: a wrong `state` refused; the code exchanged once (a replayed callback refused, one code grant at the
 * broker); the tokens stored encrypted (a dump of every table holds none of them, nor their hex); the
 * refresh before expiry; the seven days run out (the broker's clock advanced) → the refresh refused for good → `reauth_required`, entries blocked with that reason,
 * an exit still accepted, the alert line and the metrics; a new login clears it; forgetting; and no secret
 * (tokens, code, client secret, state) in the gateway's output, its answers or the audit log.
 */

const CLIENT_ID = 'schwab-app-key-e2e';
const CLIENT_SECRET = `schwab-secret-${randomBytes(12).toString('hex')}`;

let db: TestDatabase;
let fake: FakeOAuthServer;
let gw: GatewayProcess;
let venue: VenueProcess | undefined;
let admin: Api;
let trader: Api;
let accountId: string;
const states: string[] = [];
/** Every answer the gateway gave (status and body), for the secret scan. */
const answers: string[] = [];

const record = <T extends JsonResponse>(res: T): T => {
  answers.push(`${res.status} ${typeof res.body === 'string' ? res.body : JSON.stringify(res.body)}`);
  return res;
};
const connectionPath = () => `/v1/accounts/${accountId}/broker-connection`;
const callbackUrl = () => `${gw.url}/v1/oauth/schwab/callback`;

async function page(url: string): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url);
  const text = await res.text();
  answers.push(`${res.status} ${text}`);
  return { status: res.status, text, headers: res.headers };
}

/** POSTs a new authorization and follows the authorize URL: the callback URL the broker redirects to. */
async function authorize(): Promise<{ state: string; callback: string }> {
  const start = record(await admin.post(connectionPath(), { redirectUri: callbackUrl() }));
  expect(start.status, JSON.stringify(start.body)).toBe(201);
  const { authorizeUrl, state } = start.body as { authorizeUrl: string; state: string };
  states.push(state);
  const url = new URL(authorizeUrl);
  expect(`${url.origin}${url.pathname}`).toBe(fake.authorizeUrl);
  expect(url.searchParams.get('state')).toBe(state);
  expect(url.searchParams.get('code_challenge_method')).toBe('S256');
  expect(url.searchParams.get('redirect_uri')).toBe(callbackUrl());
  const res = await fetch(authorizeUrl, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return { state, callback: res.headers.get('location')! };
}

async function connection(): Promise<any> {
  const res = record(await admin.get(connectionPath()));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function account(): Promise<any> {
  return record(await admin.get(`/v1/accounts/${accountId}`)).body;
}

/** Every table's data, as pg_dump prints it. */
const dump = () => dumpData(db.url);

/** The secrets of this test found in `text`, in any form a dump or a log could hold them. */
function leaked(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((s) => secretForms(s).some((form) => text.includes(form)));
}

beforeAll(async () => {
  venue = await startVenueProcess({});
  db = await createTestDatabase();
  accountId = uuidv7();
  await db.dataSource.query(
    `INSERT INTO accounts (id, name, environment, broker) VALUES ($1, 'schwab-oauth', 'paper', 'schwab')`,
    [accountId],
  );
  fake = await startFakeOAuthServer({
    broker: 'schwab',
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    pkce: true,
    // Schwab's real lifetimes (also the fake's defaults), on the fake's clock.
    accessTtlSeconds: 1800,
    refreshTtlSeconds: 604_800,
  });
  gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    LOG_LEVEL: 'debug',
    BROKERS: 'paper,schwab',
    BROKER_SCHWAB_ADAPTER: 'paper-http',
    BROKER_SCHWAB_URL: venue.url,
    LOCAL_MASTER_KEY_FILE: join(tmpdir(), `gw-oauth-e2e-${randomBytes(6).toString('hex')}.json`),
    OAUTH_SCHWAB_CLIENT_ID: CLIENT_ID,
    OAUTH_SCHWAB_CLIENT_SECRET: CLIENT_SECRET,
    OAUTH_SCHWAB_AUTHORIZE_URL: fake.authorizeUrl,
    OAUTH_SCHWAB_TOKEN_URL: fake.tokenUrl,
    // The gateway's port is known only once it listens: each authorization names its callback (redirectUri).
    OAUTH_SCHWAB_REDIRECT_URI: 'http://127.0.0.1:9/v1/oauth/schwab/callback',
    OAUTH_SCHWAB_PKCE: 'true',
    // 1797 s before the 1800 s expiry: due 3 s after each login or refresh, on the gateway's real clock.
    OAUTH_REFRESH_BEFORE_EXPIRY_SECONDS: '1797',
    OAUTH_REFRESH_JITTER_SECONDS: '0',
    OAUTH_REFRESH_RETRY_SECONDS: '1',
    OAUTH_REFRESH_POLL_MS: '200',
  });
  admin = new Api(
    gw.url,
    await signWithDevKey(db.dataSource, { sub: 'oauth-admin', roles: ['admin'], accounts: ['*'] }),
  );
  trader = new Api(
    gw.url,
    await signWithDevKey(db.dataSource, { sub: 'oauth-trader', roles: ['trader'], accounts: ['*'] }),
  );
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await fake?.close();
  await venue?.stop();
  await db?.drop();
});

describe('connecting a Schwab account over OAuth2', () => {
  it(
    'connects once per state, stores tokens encrypted, refreshes before expiry, and needs a new login when the refresh token dies',
    { timeout: 60_000 },
    async () => {
      expect(await connection()).toEqual({
        status: 'disconnected',
        accessExpiresAt: null,
        refreshExpiresAt: null,
        lastRefreshAt: null,
        lastRefreshOutcome: null,
      });
      expect((await account()).brokerConnection).toBeNull();
      // Not the broker's callback: refused before anything is made.
      expectProblem(
        record(await admin.post(connectionPath(), { redirectUri: 'https://evil.example/steal' })),
        422,
        'validation.failed',
      );

      const first = await authorize();
      const back = new URL(first.callback);
      const code = back.searchParams.get('code')!;
      expect(code.endsWith('@')).toBe(true);
      expect(first.callback).toContain('%40'); // the code arrives URL-encoded and must be decoded

      // A wrong state (well-formed, unknown) and no state at all are refused with a page; the code is not spent.
      const wrong = new URL(first.callback);
      wrong.searchParams.set('state', randomBytes(32).toString('base64url'));
      const refused = await page(wrong.toString());
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('unknown or has already been used');
      expect((await page(`${callbackUrl()}?code=${encodeURIComponent(code)}`)).status).toBe(400);
      expect(fake.tokenRequests.filter((r) => r.grantType === 'authorization_code')).toHaveLength(0);

      const connectedAt = fake.now();
      const done = await page(first.callback);
      expect(done.status, done.text).toBe(200);
      expect(done.text).toContain('Broker connected');
      expect(done.headers.get('content-type')).toContain('text/html');
      expect(done.headers.get('cache-control')).toBe('no-store');
      expect(done.headers.get('referrer-policy')).toBe('no-referrer');
      // The same callback again: the state is used up; the broker saw one code exchange, client auth in Basic.
      const replay = await page(first.callback);
      expect(replay.status).toBe(400);
      expect(replay.text).toContain('already been used');
      const exchanges = fake.tokenRequests.filter((r) => r.grantType === 'authorization_code');
      expect(exchanges.map((r) => [r.status, r.clientAuth])).toEqual([[200, 'basic']]);
      expect(exchanges[0]!.fields).not.toContain('client_secret');
      expect(exchanges[0]!.fields).toContain('code_verifier');

      const connected = await connection();
      expect(connected.status).toBe('connected');
      const firstAccessExpiry = Date.parse(connected.accessExpiresAt);
      // Schwab's 30 minutes.
      expect(firstAccessExpiry - connectedAt).toBeGreaterThan(1_795_000);
      expect(firstAccessExpiry - connectedAt).toBeLessThanOrEqual(1_801_000);
      // Schwab's seven days from the login.
      expect(Date.parse(connected.refreshExpiresAt) - connectedAt).toBeGreaterThan(604_790_000);
      expect((await account()).brokerConnection).toEqual({
        status: 'connected',
        accessExpiresAt: connected.accessExpiresAt,
        refreshExpiresAt: connected.refreshExpiresAt,
      });

      // The tokens are in broker_credentials, encrypted: no table holds a token, the code or the state in clear.
      const [{ n }] = await db.dataSource.query(
        `SELECT count(*)::int AS n FROM broker_credentials WHERE account_id = $1`,
        [accountId],
      );
      expect(n).toBe(1);
      expect(leaked(await dump(), [...fake.issuedSecrets(), CLIENT_SECRET, ...states])).toEqual([]);

      // The token-refresh job refreshes before the first access token expires (rotating the refresh token).
      const refreshed = await eventually(
        async () => {
          const c = await connection();
          return c.lastRefreshOutcome === 'ok' ? c : null;
        },
        15_000,
        'the access token refreshed',
      );
      const refreshes = fake.tokenRequests.filter((r) => r.grantType === 'refresh_token' && r.status === 200);
      expect(refreshes.length).toBeGreaterThanOrEqual(1);
      expect(refreshes[0]!.at).toBeLessThan(firstAccessExpiry);
      // Done by the job at its due time (about 3 s after the login), not when the token ran out.
      expect(refreshes[0]!.at - connectedAt).toBeLessThan(60_000);
      expect(Date.parse(refreshed.lastRefreshAt)).toBeLessThan(firstAccessExpiry - 25 * 60_000);
      expect(refreshes[0]!.clientAuth).toBe('basic');
      expect(Date.parse(refreshed.accessExpiresAt)).toBeGreaterThan(firstAccessExpiry);
      // The seven days stay those of the login: rotation does not extend them.
      expect(refreshed.refreshExpiresAt).toBe(connected.refreshExpiresAt);

      // A position to exit from, bought while entries are allowed.
      const buy = record(
        await trader.post(`/v1/accounts/${accountId}/orders`, {
          clientOrderId: 'oauth-buy-1',
          symbol: 'SPY',
          side: 'buy',
          quantity: '3',
          type: 'market',
        }),
      );
      expect(buy.status, JSON.stringify(buy.body)).toBe(201);
      await orderWhen(trader, accountId, buy.body.id, (o) => o.status === 'filled', 'filled');

      // The broker's clock advanced past the seven days of the login: the refresh token is dead there, and
      // the next refresh (due within 3 s) is refused for good with Schwab's body.
      fake.advance(604_800_000 + 60_000);
      const dead = await eventually(
        async () => {
          const c = await connection();
          return c.status === 'reauth_required' ? c : null;
        },
        15_000,
        'reauth_required',
      );
      expect(dead.lastRefreshOutcome).toBe('refused: unsupported_token_type');
      const blocked = await account();
      expect(blocked.entriesBlocked).toBe(true);
      expect(blocked.entriesBlockedReason).toMatch(/^broker_reauth_required: schwab refused the refresh token/);
      expect(blocked.brokerConnection.status).toBe('reauth_required');
      const entry = record(
        await trader.post(`/v1/accounts/${accountId}/orders`, {
          clientOrderId: 'oauth-entry-blocked',
          symbol: 'SPY',
          side: 'buy',
          quantity: '1',
          type: 'market',
        }),
      );
      expect(expectProblem(entry, 422, 'risk.entries_blocked').detail).toContain('broker_reauth_required');
      const exit = record(
        await trader.post(`/v1/accounts/${accountId}/orders`, {
          clientOrderId: 'oauth-exit-1',
          symbol: 'SPY',
          side: 'sell',
          quantity: '1',
          type: 'market',
        }),
      );
      expect(exit.status, JSON.stringify(exit.body)).toBe(201);
      await orderWhen(trader, accountId, exit.body.id, (o) => o.status === 'filled', 'exit filled');
      // Reconciliation goes on too: the on-demand pass runs against the broker and finds nothing to correct.
      const reconciled = record(await admin.post(`/v1/accounts/${accountId}/reconcile`));
      expect(reconciled.status, JSON.stringify(reconciled.body)).toBe(200);
      expect(reconciled.body).toEqual({ orders: [] });
      expect((await connection()).status).toBe('reauth_required');
      // The alert line, the counter and the refresh-token expiry gauge.
      expect(gw.output()).toMatch(/"alert":"broker_reauth_required"/);
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      expect(metrics).toMatch(/gateway_broker_reauth_required_total\{broker="schwab"[^}]*\} 1/);
      const gauge = new RegExp(
        `gateway_broker_refresh_token_expiry_seconds\\{account="${accountId}",broker="schwab"[^}]*\\} (\\d+)`,
      ).exec(metrics);
      // The gateway's own view, on its real clock: seven days from the login (only the broker's clock moved).
      expect(Number(gauge?.[1])).toBeGreaterThan(604_700);
      expect(metrics).toMatch(/gateway_broker_token_refreshes_total\{broker="schwab",outcome="refused"[^}]*\} 1/);

      // A new login clears it: connected again, entries allowed.
      const second = await authorize();
      const again = await page(second.callback);
      expect(again.status, again.text).toBe(200);
      expect((await connection()).status).toBe('connected');
      const cleared = await account();
      expect(cleared.entriesBlocked).toBe(false);
      expect(cleared.entriesBlockedReason).toBeNull();
      const entryAgain = record(
        await trader.post(`/v1/accounts/${accountId}/orders`, {
          clientOrderId: 'oauth-entry-2',
          symbol: 'SPY',
          side: 'buy',
          quantity: '1',
          type: 'market',
        }),
      );
      expect(entryAgain.status, JSON.stringify(entryAgain.body)).toBe(201);

      // Forgetting: the credential and the connection are gone.
      expect(record(await admin.delete(connectionPath())).status).toBe(204);
      expect((await connection()).status).toBe('disconnected');
      const [{ left }] = await db.dataSource.query(`SELECT count(*)::int AS left FROM broker_credentials`);
      expect(left).toBe(0);

      // No secret anywhere: the gateway's output, its answers (the POST answers carry the state by design),
      // the audit log (every table, again), the callback pages.
      const secrets = [...fake.issuedSecrets(), CLIENT_SECRET];
      expect(leaked(gw.output(), [...secrets, ...states])).toEqual([]);
      expect(leaked(answers.join('\n'), secrets)).toEqual([]);
      expect(leaked(await dump(), [...secrets, ...states])).toEqual([]);
      const audit = await db.dataSource.query(
        `SELECT method, route, status FROM audit_log WHERE route LIKE '%broker-connection%' OR route LIKE '/v1/oauth/%' ORDER BY seq`,
      );
      expect(audit.map((a: any) => `${a.method} ${a.status}`)).toEqual(
        expect.arrayContaining(['POST 201', 'GET 400', 'GET 200', 'DELETE 204']),
      );
    },
  );
});
