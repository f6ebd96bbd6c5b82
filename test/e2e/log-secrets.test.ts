import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type FakeOAuthServer, startFakeOAuthServer } from '../../apps/fake-brokers/src/oauth/index.js';
import { dumpData, secretForms } from '../support/credentials.js';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { type CliRun, type GatewayProcess, runCli, startGatewayProcess } from '../support/gateway-process.js';
import { eventually } from '../support/http.js';
import { Api, type JsonResponse } from '../support/http.js';
import { changeLimits, createAccount, limitsPath, putLimits } from '../support/risk.js';
import { StreamClient } from '../support/stream-client.js';
import { foreignToken, signWithDevKey, unsignedToken } from '../support/tokens.js';
import { startVenueProcess, type VenueProcess } from '../support/venue-process.js';

/**
 * Secrets and tokens never appear in logs (README, "Access tokens"): the built gateway runs with the most
 * verbose log level (`trace`) in front of the HTTP paper venue, and the test drives the suite's kinds of
 * traffic with many tokens: valid ones of every role, expired, wrong audience and issuer, unknown key,
 * `alg: none`, tampered, garbage; sent as `Authorization: Bearer`, in the WebSocket `auth` message, and
 * by mistake in a query string (`?access_token=`), a cookie, a JSON body field and a malformed or
 * oversized body. Orders are placed, replaced and canceled, limits changed, the kill switch pulled and
 * re-armed; broker API keys stored and refused (their secrets in good and bad bodies); 400, 401, 403,
 * 404, 413, 422 answers and WebSocket close 4401 are provoked. A second broker, Schwab over OAuth against
 * its fake authorization server, takes the rest of the routes: accounts created (and refused), the connect
 * flow (start, wrong and missing state, the callback, its replay, a denied login), the token-refresh job's
 * refresh, the refresh token killed (`reauth_required`, an entry refused), a new login, `GET /v1/ops/jobs`,
 * an on-demand reconciliation, `/metrics`, forgetting the connection; and every command of the admin CLI
 * (the key rotation as a job included), with refused tokens too. The broker secrets, the OAuth codes,
 * tokens, client secret and states are also looked for in a `pg_dump --data-only` of the database (as
 * text, hex, base64).
 *
 * Then every line the gateway wrote (stdout log lines and stderr, the quick-start banner excepted: it
 * prints a token on purpose) is scanned for every token used, each token's payload and signature
 * segments, the dev signing key's private JWK members (`d`) from the `signing_keys` table, and the
 * `Bearer ey…` header value shape. The venue's output, every answer the gateway gave (problem+json
 * bodies, WebSocket frames and close reasons, callback pages, the metrics), everything the CLI printed and the
 * audit log table get the same scan (the OAuth states, which the connect answers carry by design, only the
 * gateway's output and the audit log). A failure prints
 * the offending lines with every secret masked.
 */
const START_TIME = '09:30:10';

let db: TestDatabase | undefined;
let venue: VenueProcess | undefined;
let gw: GatewayProcess | undefined;
/** The second paper account: halted and re-armed by the kill switch, foreign to the banner's trader. */
let otherAccountId: string;
/** Broker secrets sent to `PUT …/broker-credentials` (stored, or refused with the body), and the admin's token. */
const brokerSecrets: Secret[] = [];

/** Everything the gateway answered: status and body of each HTTP response, each WebSocket frame and close. */
const answers: string[] = [];

/** The second broker: Schwab over OAuth against its fake authorization server, a venue process for its API. */
const OAUTH_CLIENT_ID = 'schwab-app-key-log-secrets';
const OAUTH_CLIENT_SECRET = `schwab-secret-${randomBytes(16).toString('hex')}`;
let oauth: FakeOAuthServer | undefined;
let schwabVenue: VenueProcess | undefined;
/** The `state` of each authorization: in the POST's answer by design, never in a log or the audit log. */
const oauthStates: string[] = [];
/** Everything the admin CLI printed (stdout and stderr of every run). */
const cliOutput: string[] = [];
/** The configuration the gateway and the CLI share. */
let gatewayEnv: Record<string, string> = {};
const keyDir = mkdtempSync(join(tmpdir(), 'gw-log-secrets-keys-'));

/** An Api client that records every answer's status and body (never the request path: it may hold a token). */
class RecordingApi extends Api {
  override async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<JsonResponse<T>> {
    const res = await super.request<T>(method, path, body, headers);
    answers.push(`HTTP ${res.status} ${typeof res.body === 'string' ? res.body : JSON.stringify(res.body)}`);
    return res;
  }
}

// ---------------------------------------------------------------------------------------------------
// The scan

interface Secret {
  readonly label: string;
  readonly value: string;
}

interface Leak {
  readonly source: string;
  readonly lineNo: number;
  readonly what: string;
  readonly line: string;
}

/** Shapes that must never appear whatever the token: an `Authorization` header value. */
const PATTERNS: readonly { label: string; re: RegExp }[] = [{ label: 'Bearer ey… (header value)', re: /Bearer\s+ey/i }];

/** Segments shorter than this are not distinctive enough to scan for (an empty `alg: none` signature). */
const MIN_SEGMENT = 16;

/** The token itself and its payload and signature segments (the header is public: alg, kid, typ). */
function tokenSecrets(label: string, token: string): Secret[] {
  const secrets: Secret[] = [{ label, value: token }];
  const parts = token.split('.');
  if (parts.length === 3) {
    if (parts[1]!.length >= MIN_SEGMENT) {
      secrets.push({ label: `${label} (payload segment)`, value: parts[1]! });
    }
    if (parts[2]!.length >= MIN_SEGMENT) {
      secrets.push({ label: `${label} (signature segment)`, value: parts[2]! });
    }
  }
  return secrets;
}

/** The line with every secret and pattern replaced by its label, cut to a readable length. */
function mask(line: string, secrets: readonly Secret[]): string {
  let out = line;
  for (const s of [...secrets].sort((a, b) => b.value.length - a.value.length)) {
    out = out.split(s.value).join(`<${s.label}>`);
  }
  out = out.replace(/(Bearer\s+)ey[A-Za-z0-9._~+/=-]*/gi, '$1<bearer token>');
  return out.length > 600 ? `${out.slice(0, 600)}… (${out.length} chars)` : out;
}

/** One entry per line holding any secret or pattern, naming all it holds. */
function findLeaks(source: string, text: string, secrets: readonly Secret[]): Leak[] {
  const leaks: Leak[] = [];
  text.split('\n').forEach((line, i) => {
    const found = [
      ...secrets.filter((s) => line.includes(s.value)).map((s) => s.label),
      ...PATTERNS.filter((p) => p.re.test(line)).map((p) => p.label),
    ];
    if (found.length > 0) {
      leaks.push({ source, lineNo: i + 1, what: found.join(', '), line: mask(line, secrets) });
    }
  });
  return leaks;
}

function report(leaks: readonly Leak[]): string {
  return leaks.map((l) => `${l.source}:${l.lineNo} contains ${l.what}:\n    ${l.line}`).join('\n');
}

/**
 * The gateway's output without its quick-start banner (stderr, main.ts), which prints the demo trader's
 * token on purpose. Exactly one banner must be there, from its `listening on` line to its `npm run demo`
 * line; everything else stays in the scan.
 */
function withoutBanner(output: string): { rest: string; banner: string } {
  const lines = output.split('\n');
  const first = lines.findIndex((l) => l.startsWith('Execution gateway listening on '));
  const last = lines.findIndex((l, i) => i > first && l.trimStart().startsWith('npm run demo'));
  expect(first, 'the banner is in the output').toBeGreaterThanOrEqual(0);
  expect(last, 'the banner ends with its npm run demo line').toBeGreaterThan(first);
  const banner = lines.slice(first, last + 1).join('\n');
  const rest = [...lines.slice(0, first), ...lines.slice(last + 1)];
  expect(
    rest.some((l) => l.startsWith('Execution gateway listening on ')),
    'one banner only',
  ).toBe(false);
  return { rest: rest.join('\n'), banner };
}

// ---------------------------------------------------------------------------------------------------
// Tokens and traffic

const TOKEN_NAMES = [
  'banner',
  'viewer',
  'trader',
  'risk',
  'admin',
  'expired',
  'wrongAudience',
  'wrongIssuer',
  'unknownKey',
  'unsigned',
  'tampered',
  'garbageJwtShaped',
  'garbage',
] as const;
/** Every token the traffic uses, by name: the banner's, one per role, and the refused kinds. */
let tokens: Record<(typeof TOKEN_NAMES)[number], string>;
const api = (token?: string) => new RecordingApi(gw!.url, token);
const ordersPath = (accountId: string) => `/v1/accounts/${accountId}/orders`;

beforeAll(async () => {
  db = await createTestDatabase();
  otherAccountId = await createAccount(db.dataSource, 'log-secrets-other');
  venue = await startVenueProcess({ PAPER_START_TIME: START_TIME });
  schwabVenue = await startVenueProcess({ PAPER_START_TIME: START_TIME });
  // Access tokens of 6 s, refreshed 3 s before they expire: the token-refresh job runs within the test.
  oauth = await startFakeOAuthServer({
    broker: 'schwab',
    clientId: OAUTH_CLIENT_ID,
    clientSecret: OAUTH_CLIENT_SECRET,
    pkce: true,
    accessTtlSeconds: 6,
  });
  gatewayEnv = {
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    PAPER_VENUE_URL: venue.url,
    PAPER_START_TIME: START_TIME,
    LOCAL_MASTER_KEY_FILE: join(keyDir, 'master-key.json'),
    BROKERS: 'paper,schwab',
    BROKER_SCHWAB_ADAPTER: 'paper-http',
    BROKER_SCHWAB_URL: schwabVenue.url,
    OAUTH_SCHWAB_CLIENT_ID: OAUTH_CLIENT_ID,
    OAUTH_SCHWAB_CLIENT_SECRET: OAUTH_CLIENT_SECRET,
    OAUTH_SCHWAB_AUTHORIZE_URL: oauth.authorizeUrl,
    OAUTH_SCHWAB_TOKEN_URL: oauth.tokenUrl,
    // The gateway's port is known only once it listens: each authorization names its callback.
    OAUTH_SCHWAB_REDIRECT_URI: 'http://127.0.0.1:9/v1/oauth/schwab/callback',
    OAUTH_SCHWAB_PKCE: 'true',
    OAUTH_REFRESH_BEFORE_EXPIRY_SECONDS: '3',
    OAUTH_REFRESH_JITTER_SECONDS: '0',
    OAUTH_REFRESH_RETRY_SECONDS: '1',
    OAUTH_REFRESH_POLL_MS: '200',
    // The most verbose level config.ts allows: every line the gateway can write is in the scan.
    LOG_LEVEL: 'trace',
  };
  gw = await startGatewayProcess(gatewayEnv);
  const dev = db.dataSource;
  const hourAgo = Math.floor(Date.now() / 1000) - 3600;
  const [viewer, trader, risk, admin, expired, wrongAudience, wrongIssuer, unknownKey] = await Promise.all([
    signWithDevKey(dev, { sub: 'e2e-viewer', roles: ['viewer'] }),
    signWithDevKey(dev, { sub: 'e2e-trader', roles: ['trader'] }),
    signWithDevKey(dev, { sub: 'e2e-risk', roles: ['risk'] }),
    signWithDevKey(dev, { sub: 'e2e-admin', roles: ['admin'] }),
    signWithDevKey(dev, { sub: 'e2e-expired', roles: ['admin', 'trader'], exp: hourAgo }),
    signWithDevKey(dev, { sub: 'e2e-wrong-aud', roles: ['admin', 'trader'], audience: 'some-other-api' }),
    signWithDevKey(dev, { sub: 'e2e-wrong-iss', roles: ['admin', 'trader'], issuer: 'urn:someone-else' }),
    foreignToken({ sub: 'e2e-unknown-key', roles: ['admin', 'trader'] }),
  ]);
  // The trader's signature on an admin's payload.
  const [header = '', payload = '', signature = ''] = trader.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  const adminPayload = Buffer.from(JSON.stringify({ ...claims, roles: ['admin'] })).toString('base64url');
  const b64 = (n: number) => randomBytes(n).toString('base64url');
  tokens = {
    banner: gw.traderToken,
    viewer,
    trader,
    risk,
    admin,
    expired,
    wrongAudience,
    wrongIssuer,
    unknownKey,
    unsigned: unsignedToken({ sub: 'e2e-alg-none' }),
    tampered: `${header}.${adminPayload}.${signature}`,
    garbageJwtShaped: `${b64(24)}.${b64(48)}.${b64(64)}`,
    garbage: `not-a-jwt-${randomBytes(24).toString('hex')}`,
  };
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await venue?.stop();
  await schwabVenue?.stop();
  await oauth?.close();
  await db?.drop();
  rmSync(keyDir, { recursive: true, force: true });
});

/** A stream client that records every frame and its close in `answers`. */
async function stream(): Promise<StreamClient> {
  const client = await StreamClient.connect(gw!.url);
  client.socket.on('message', (data) => answers.push(`WS ${data.toString()}`));
  client.socket.on('close', (code, why) => answers.push(`WS close ${code} ${why.toString()}`));
  return client;
}

/**
 * A raw socket (for a token in the URL or the upgrade's headers) that sends `message` once open and
 * resolves with the close code; its frames and close are recorded like `stream()`'s.
 */
async function rawSocketClose(query: string, headers: Record<string, string>, message: unknown): Promise<number> {
  const socket = new WebSocket(`${gw!.url.replace(/^http/, 'ws')}/v1/stream${query}`, { headers });
  socket.on('message', (data) => answers.push(`WS ${data.toString()}`));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) =>
    socket.once('close', (code, why) => {
      answers.push(`WS close ${code} ${why.toString()}`);
      resolve(code);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.send(JSON.stringify(message));
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error('the socket is still open after 10 s')), 10_000).unref(),
  );
  return Promise.race([closed, timeout]);
}

function expectStatus(res: JsonResponse, status: number): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
}

/** A page fetched without a token (the OAuth callback, the broker's authorize URL), recorded in `answers`. */
async function page(url: string): Promise<{ status: number; text: string; location: string | null }> {
  const res = await fetch(url, { redirect: 'manual' });
  const text = await res.text();
  answers.push(`PAGE ${res.status} ${text}`);
  return { status: res.status, text, location: res.headers.get('location') };
}

/** The admin CLI with the gateway's configuration; its output is kept for the scan. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const run = await runCli(args, { ...gatewayEnv, GATEWAY_URL: gw!.url, GATEWAY_TOKEN: tokens.admin, ...env });
  cliOutput.push(run.stdout, run.stderr);
  return run;
}

describe('secrets and tokens never appear in logs', () => {
  it('drives orders, limits, the kill switch, refusals and the stream with many tokens', async () => {
    const accountId = gw!.accountId;
    const banner = api(tokens.banner);
    const viewer = api(tokens.viewer);
    const trader = api(tokens.trader);
    const risk = api(tokens.risk);
    const admin = api(tokens.admin);

    // Reads, public and authenticated.
    expectStatus(await api().get('/health/live'), 200);
    expectStatus(await viewer.get('/v1/accounts'), 200);
    expectStatus(await viewer.get(`/v1/accounts/${accountId}`), 200);
    expectStatus(await viewer.get(ordersPath(accountId)), 200);
    const quote = await trader.get('/v1/quotes/SPY');
    expectStatus(quote, 200);
    const bid = Number(quote.body.bid);
    expect(bid).toBeGreaterThan(0);

    // Place (a resting limit and a marketable market order), replace, cancel: with the banner's token.
    const placed = await banner.post(ordersPath(accountId), {
      clientOrderId: `ls-${randomUUID()}`,
      symbol: 'SPY',
      side: 'buy',
      quantity: '2',
      type: 'limit',
      limitPrice: (bid - 0.5).toFixed(2),
    });
    expectStatus(placed, 201);
    expect(placed.body.status).toBe('new');
    expectStatus(await banner.get(`${ordersPath(accountId)}/${placed.body.id}`), 200);
    const replaced = await banner.patch(`${ordersPath(accountId)}/${placed.body.id}`, {
      clientOrderId: `ls-${randomUUID()}`,
      limitPrice: (bid - 0.4).toFixed(2),
    });
    expectStatus(replaced, 202);
    expectStatus(await banner.delete(`${ordersPath(accountId)}/${replaced.body.id}`), 202);
    expectStatus(
      await trader.post(ordersPath(accountId), {
        clientOrderId: `ls-${randomUUID()}`,
        symbol: 'SPY',
        side: 'buy',
        quantity: '1',
        type: 'market',
      }),
      201,
    );

    // Risk limits: a change by risk staff (GET, then PUT with the version), refused to a trader.
    await changeLimits(risk, accountId, { maxOrderQuantity: '5000' }, 'log-secrets: a limit change');
    expectStatus(await risk.get(`${limitsPath(accountId)}/history`), 200);
    expectStatus(await putLimits(trader, accountId, { limits: {}, reason: 'not mine to change' }), 403);
    expectStatus(await putLimits(risk, accountId, { limits: { maxOrderQuantity: -1 }, reason: 'bad' }), 422);

    // Kill switch: halted by risk, re-armed by an admin; refused to a viewer and a trader.
    const scope = { scope: 'account', accountId: otherAccountId };
    expectStatus(await risk.post('/v1/kill-switch', { ...scope, reason: 'log-secrets: halt' }), 202);
    expectStatus(await viewer.post('/v1/kill-switch', { ...scope, reason: 'not mine' }), 403);
    expectStatus(await trader.request('DELETE', '/v1/kill-switch', { ...scope, reason: 'not mine' }), 403);
    expectStatus(await admin.request('DELETE', '/v1/kill-switch', { ...scope, reason: 'log-secrets: re-arm' }), 200);

    // 403: a role short of the route.
    expectStatus(
      await viewer.post(ordersPath(accountId), {
        clientOrderId: `ls-${randomUUID()}`,
        symbol: 'SPY',
        side: 'buy',
        quantity: '1',
        type: 'market',
      }),
      403,
    );
    // 404: someone else's account, an unknown account and order, an unknown route.
    expectStatus(await banner.get(`/v1/accounts/${otherAccountId}`), 404);
    expectStatus(await banner.get(ordersPath(otherAccountId)), 404);
    expectStatus(await admin.get(`/v1/accounts/${randomUUID()}`), 404);
    expectStatus(await trader.get(`${ordersPath(accountId)}/${randomUUID()}`), 404);
    expectStatus(await trader.get('/v1/no-such-route'), 404);

    // 401: every refused kind of token, and none.
    expectStatus(await api().get('/v1/accounts'), 401);
    for (const name of [
      'expired',
      'wrongAudience',
      'wrongIssuer',
      'unknownKey',
      'unsigned',
      'tampered',
      'garbageJwtShaped',
      'garbage',
    ] as const) {
      const res = await api(tokens[name]).get(ordersPath(accountId));
      expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(401);
      const post = await api(tokens[name]).post(ordersPath(accountId), { token: tokens[name] });
      expect(post.status, `${name}: ${JSON.stringify(post.body)}`).toBe(401);
    }
    // Tokens where they do not belong: other schemes, a query string, a cookie.
    const refused = [
      await api().request('GET', '/v1/accounts', undefined, {
        authorization: `Basic ${Buffer.from(`u:${tokens.admin}`).toString('base64')}`,
      }),
      await api().request('GET', '/v1/accounts', undefined, { authorization: `bearer  ${tokens.garbage} extra` }),
      await api().get(`/v1/accounts?access_token=${tokens.admin}`),
      await api().get(`${ordersPath(accountId)}?access_token=${tokens.trader}&token=${tokens.risk}`),
      await api().request('GET', '/v1/accounts', undefined, { cookie: `access_token=${tokens.admin}` }),
    ];
    expect(refused.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
    // Valid token, plus one in the query: the strict query schema refuses it (422).
    expectStatus(await trader.get(`${ordersPath(accountId)}?access_token=${tokens.admin}`), 422);

    // Bad input, tokens in bodies: unknown fields (422), malformed JSON (400), an oversized body (413).
    const order = { clientOrderId: `ls-${randomUUID()}`, symbol: 'SPY', side: 'buy', quantity: '1', type: 'market' };
    expectStatus(await trader.post(ordersPath(accountId), { ...order, token: tokens.admin }), 422);
    expectStatus(await trader.post(ordersPath(accountId), { ...order, accessToken: tokens.risk }), 422);
    expectStatus(await trader.post(ordersPath(accountId), { ...order, quantity: tokens.viewer }), 422);
    expectStatus(await trader.post(ordersPath(accountId), { ...order, symbol: tokens.viewer }), 422);
    expectStatus(
      await risk.post('/v1/kill-switch', { ...scope, reason: 'token in the wrong place', token: tokens.risk }),
      422,
    );
    expectStatus(await trader.post(ordersPath(accountId), `{"token":"${tokens.admin}", "clientOrderId": `), 400);
    expectStatus(await trader.post(ordersPath(accountId), `{"authorization":"Bearer ${tokens.admin}"`), 400);
    expectStatus(await trader.post(ordersPath(accountId), { ...order, pad: tokens.admin.repeat(200) }), 413);

    // Broker credentials (write-only): stored by an admin of the account (204), refused to other roles (403)
    // and with bad bodies (422, 400), each body holding a broker secret that must never come back out.
    const brokerSecret = (label: string) => {
      const value = `bks-${label}-${randomBytes(20).toString('hex')}`;
      brokerSecrets.push({ label: `broker secret (${label})`, value });
      return value;
    };
    const credentialsAdminToken = await signWithDevKey(db!.dataSource, {
      sub: 'e2e-credentials-admin',
      roles: ['admin'],
      accounts: [accountId],
    });
    brokerSecrets.push(...tokenSecrets('credentials admin token', credentialsAdminToken));
    const credentialsAdmin = api(credentialsAdminToken);
    const credentialsPath = `/v1/accounts/${accountId}/broker-credentials`;
    const stored = brokerSecret('stored');
    expectStatus(
      await credentialsAdmin.request('PUT', credentialsPath, { kind: 'api_key', keyId: 'PKE2E', secret: stored }),
      204,
    );
    const [row] = await db!.dataSource.query(
      `SELECT kind, key_provider FROM broker_credentials WHERE account_id = $1`,
      [accountId],
    );
    expect(row).toEqual({ kind: 'api_key', key_provider: 'local' });
    for (const who of [banner, viewer]) {
      expectStatus(
        await who.request('PUT', credentialsPath, { kind: 'api_key', keyId: 'PKE2E', secret: brokerSecret('refused') }),
        403,
      );
    }
    const badBodies: [unknown, number][] = [
      [{ kind: 'api_key', keyId: 'PKE2E' }, 422],
      [{ kind: 'oauth', keyId: 'PKE2E', secret: brokerSecret('wrong kind') }, 422],
      [{ kind: 'api_key', keyId: 'PKE2E', secret: brokerSecret('extra field'), token: brokerSecret('extra') }, 422],
      [{ kind: 'api_key', keyId: brokerSecret('as key id').repeat(10), secret: brokerSecret('long key id') }, 422],
      [{ kind: 'api_key', keyId: 'PKE2E', secret: brokerSecret('too long').repeat(100) }, 422],
      [{ kind: 'api_key', keyId: 'PKE2E', secret: 12345678 }, 422],
      [`{"kind":"api_key","keyId":"PKE2E","secret":"${brokerSecret('malformed')}"`, 400],
    ];
    for (const [body, status] of badBodies) {
      const res = await credentialsAdmin.request('PUT', credentialsPath, body);
      expectStatus(res, status);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    const [after] = await db!.dataSource.query(`SELECT count(*)::int AS n FROM broker_credentials`);
    expect(after.n).toBe(1);

    // An admin reads the audit log (its entries get scanned with the other answers).
    expectStatus(await admin.get('/v1/audit?limit=1000'), 200);

    // The stream: a good session, then refused tokens (4401), tokens in the URL and the upgrade headers.
    const good = await stream();
    await good.authenticate(tokens.banner);
    expect((await good.subscribeOrders(accountId)).type).toBe('subscribed');
    good.send({ op: 'subscribe', channel: 'orders', accountId: tokens.admin });
    await good.waitFor((m) => m.type === 'error');
    for (const name of ['expired', 'wrongAudience', 'unknownKey', 'tampered', 'garbage'] as const) {
      const bad = await stream();
      bad.send({ op: 'auth', token: tokens[name] });
      expect(await bad.waitForClose(), name).toBe(4401);
    }
    // Without an `auth` message the first subscribe closes the socket at once (4401), whatever the URL says.
    const subscribe = { op: 'subscribe', channel: 'orders', accountId };
    expect(await rawSocketClose(`?access_token=${tokens.trader}`, {}, subscribe)).toBe(4401);
    expect(await rawSocketClose('', { authorization: `Bearer ${tokens.trader}` }, subscribe)).toBe(4401);
    good.close();
    await good.waitForClose();
  });

  it(
    'drives account creation, the OAuth connect flow and its refresh, the job and reconciliation routes, metrics and the admin CLI',
    { timeout: 180_000 },
    async () => {
      const admin = api(tokens.admin);
      const trader = api(tokens.trader);
      const oauthSecret = (label: string) => {
        const value = `oas-${label}-${randomBytes(20).toString('hex')}`;
        brokerSecrets.push({ label: `secret in a body (${label})`, value });
        return value;
      };

      // POST /v1/accounts: made (201), refused with secrets in the body (422), refused to a trader (403).
      const created = await admin.post('/v1/accounts', {
        name: 'log-secrets-schwab',
        broker: 'schwab',
        environment: 'paper',
      });
      expectStatus(created, 201);
      const schwabId = created.body.id as string;
      expectStatus(
        await admin.post('/v1/accounts', {
          name: 'ls-bad',
          broker: 'schwab',
          environment: 'paper',
          secret: oauthSecret('account'),
        }),
        422,
      );
      expectStatus(
        await trader.post('/v1/accounts', { name: 'ls-trader', broker: 'paper', environment: 'paper' }),
        403,
      );

      // The connect flow: start, a wrong state, no state, the good callback, its replay.
      const connectionPath = `/v1/accounts/${schwabId}/broker-connection`;
      const callback = `${gw!.url}/v1/oauth/schwab/callback`;
      const login = async (): Promise<string> => {
        const start = await admin.post(connectionPath, { redirectUri: callback });
        expectStatus(start, 201);
        oauthStates.push(start.body.state);
        const authorize = await page(start.body.authorizeUrl);
        expect(authorize.status).toBe(302);
        return authorize.location!;
      };
      expectStatus(await admin.post(connectionPath, { redirectUri: 'https://evil.example/steal' }), 422);
      const location = await login();
      const wrong = new URL(location);
      wrong.searchParams.set('state', randomBytes(32).toString('base64url'));
      expect((await page(wrong.toString())).status).toBe(400);
      const code = new URL(location).searchParams.get('code')!;
      expect((await page(`${callback}?code=${encodeURIComponent(code)}`)).status).toBe(400);
      expect((await page(location)).status).toBe(200);
      expect((await page(location)).status).toBe(400);
      expect((await admin.get(connectionPath)).body.status).toBe('connected');
      // A login the user denied at the broker: the broker sends the browser back with an error.
      await login();
      const denied = await page(`${callback}?error=access_denied&state=${oauthStates.at(-1)}`);
      expect(denied.status).toBeGreaterThanOrEqual(400);
      expect(denied.status).toBeLessThan(500);

      // The token-refresh job refreshes; then the broker kills the refresh token: reauth_required.
      await eventually(
        async () => (await admin.get(connectionPath)).body.lastRefreshOutcome === 'ok',
        20_000,
        'a refresh',
      );
      oauth!.revokeRefreshTokens();
      await eventually(
        async () => (await admin.get(connectionPath)).body.status === 'reauth_required',
        20_000,
        'reauth_required',
      );
      expectStatus(
        await trader.post(ordersPath(schwabId), {
          clientOrderId: `ls-${randomUUID()}`,
          symbol: 'SPY',
          side: 'buy',
          quantity: '1',
          type: 'market',
        }),
        422,
      );
      // Connected again by a new login.
      expect((await page(await login())).status).toBe(200);
      expectStatus(await admin.get(`/v1/accounts/${schwabId}`), 200);

      // The job queues, an on-demand reconciliation, the metrics.
      expectStatus(await admin.get('/v1/ops/jobs'), 200);
      expectStatus(await trader.get('/v1/ops/jobs'), 403);
      expectStatus(await admin.post(`/v1/accounts/${schwabId}/reconcile`), 200);
      const metrics = await fetch(`${gw!.url}/metrics`);
      answers.push(`METRICS ${metrics.status} ${await metrics.text()}`);
      expect(metrics.status).toBe(200);

      // The admin CLI, with the admin's token in GATEWAY_TOKEN: every command of the reference.
      const ok = async (...args: string[]) => {
        const run = await cli(['--json', ...args]);
        expect(run.code, `${args.join(' ')}: ${run.stdout} ${run.stderr}`).toBe(0);
        return JSON.parse(run.stdout);
      };
      await ok('accounts', 'list');
      await ok('accounts', 'create', '--name', 'log-secrets-cli', '--broker', 'paper');
      await ok('broker', 'status');
      await ok('broker', 'status', schwabId);
      const started = await ok('broker', 'connect', schwabId, '--redirect-uri', callback);
      oauthStates.push(started.state);
      await ok('credentials', 'list');
      await ok('keys', 'status');
      expect(await ok('keys', 'rotate')).toMatchObject({ failed: 0 });
      await ok('kill-switch', 'on', '--scope', 'account', '--account', otherAccountId, '--reason', 'ls cli');
      await ok('kill-switch', 'off', '--scope', 'account', '--account', otherAccountId, '--reason', 'ls cli');
      await ok('reconcile', schwabId);
      await ok('audit', 'verify');
      // Refused: exit 1 with the route's problem, or 2; tokens given on the command line or refused.
      expect((await cli(['--json', 'accounts', 'create', '--name', 'x', '--broker', 'kalshi'])).code).toBe(1);
      expect((await cli(['accounts', 'list'], { GATEWAY_TOKEN: tokens.expired })).code).toBe(1);
      expect((await cli(['--json', '--token', tokens.garbage, 'broker', 'status'])).code).toBe(1);
      expect((await cli(['broker', 'status', schwabId], { GATEWAY_TOKEN: tokens.viewer })).code).toBe(1);

      // Forgetting the connection.
      expectStatus(await admin.delete(connectionPath), 204);
      expectStatus(await admin.get(connectionPath), 200);
    },
  );

  it('finds no token, token segment, private key or bearer header in the logs and answers', async () => {
    // Stopping (SIGTERM, graceful) flushes every line: the output is then complete.
    await gw!.stop();
    await venue!.stop();
    await schwabVenue!.stop();
    const keys: { kid: string; private_jwk: Record<string, unknown> }[] = await db!.dataSource.query(
      'SELECT kid, private_jwk FROM signing_keys',
    );
    expect(keys.length).toBeGreaterThan(0);
    const issued = oauth!.issuedSecrets();
    expect(issued.length, 'codes, access and refresh tokens issued').toBeGreaterThanOrEqual(6);
    const secrets: Secret[] = [
      ...TOKEN_NAMES.flatMap((name) => tokenSecrets(`${name} token`, tokens[name])),
      ...brokerSecrets,
      ...issued.map((value, i) => ({ label: `OAuth code or token #${i}`, value })),
      { label: 'OAuth client secret', value: OAUTH_CLIENT_SECRET },
      ...keys.flatMap((k) =>
        ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']
          .filter((m) => typeof k.private_jwk[m] === 'string')
          .map((m) => ({ label: `signing key ${k.kid} private "${m}"`, value: k.private_jwk[m] as string })),
      ),
    ];
    expect(secrets.filter((s) => s.label.includes('private "d"')).length).toBe(keys.length);

    const output = gw!.output();
    const { rest: log, banner } = withoutBanner(output);
    // The scan can fail: it finds the token the banner prints on purpose, and the log is far from empty
    // (request lines of every status the traffic provoked; body-parser 400/413 answers get none).
    expect(findLeaks('banner', banner, secrets).some((l) => l.what.startsWith('banner token,'))).toBe(true);
    const requestLines = log
      .split('\n')
      .flatMap((l): { msg?: string; status?: number }[] => {
        try {
          return l.startsWith('{') ? [JSON.parse(l)] : [];
        } catch {
          return [];
        }
      })
      .filter((r) => r.msg === 'request');
    expect(requestLines.length, log.slice(-3000)).toBeGreaterThanOrEqual(40);
    for (const status of [200, 201, 202, 401, 403, 404, 422]) {
      expect(
        requestLines.some((r) => r.status === status),
        `a request line with status ${status}`,
      ).toBe(true);
    }
    expect(log).toContain('access token refused');

    const auditRows: unknown[] = (
      await db!.dataSource.query(`SELECT to_regclass('public.audit_log') IS NOT NULL AS present`)
    )[0].present
      ? await db!.dataSource.query('SELECT * FROM audit_log ORDER BY seq')
      : [];
    // The states are in the POST answers (and `broker connect`'s) by design, never in a log or the audit log.
    const states = oauthStates.map((value, i) => ({ label: `OAuth state #${i}`, value }));
    expect(states.length).toBe(4);
    const leaks = [
      ...findLeaks('gateway output (banner removed)', log, [...secrets, ...states]),
      ...findLeaks('venue output', venue!.output(), secrets),
      ...findLeaks('Schwab venue output', schwabVenue!.output(), secrets),
      ...findLeaks('gateway answers', answers.join('\n'), secrets),
      ...findLeaks('admin CLI output', cliOutput.join('\n'), secrets),
      ...findLeaks('audit_log table', auditRows.map((r) => JSON.stringify(r)).join('\n'), [...secrets, ...states]),
    ];
    console.log(
      `log-secrets: scanned ${log.split('\n').length} gateway output lines (${requestLines.length} request lines), ` +
        `${venue!.output().split('\n').length} venue lines, ${answers.length} answers, ${cliOutput.length / 2} CLI runs, ` +
        `${auditRows.length} audit rows ` +
        `for ${secrets.length} secrets from ${TOKEN_NAMES.length} tokens and ${keys.length} signing key(s)`,
    );
    expect(leaks.length, `secrets in the output:\n${report(leaks)}`).toBe(0);
  });

  it('keeps no broker secret in clear in the database', async () => {
    expect(brokerSecrets.length).toBeGreaterThan(5);
    // Audited as every admin change, the body left out: the target is the account, nothing of the key.
    const audited: { status: number; target: Record<string, string> }[] = await db!.dataSource.query(
      `SELECT status, target FROM audit_log WHERE action = 'brokerCredentials.put' ORDER BY seq`,
    );
    expect(audited.map((r) => r.status)).toEqual(expect.arrayContaining([204, 403, 422]));
    expect(audited.find((r) => r.status === 204)!.target).toEqual({ accountId: gw!.accountId });
    const dump = await dumpData(db!.url);
    expect(dump).toContain('broker_credentials');
    const forms = [
      ...brokerSecrets,
      ...oauth!.issuedSecrets().map((value, i) => ({ label: `OAuth code or token #${i}`, value })),
      { label: 'OAuth client secret', value: OAUTH_CLIENT_SECRET },
      ...oauthStates.map((value, i) => ({ label: `OAuth state #${i}`, value })),
    ].flatMap((s) => secretForms(s.value).map((value) => ({ label: s.label, value })));
    const leaks = findLeaks('pg_dump --data-only', dump, forms);
    expect(leaks.length, `secrets in the database:\n${report(leaks)}`).toBe(0);
  });
});
