import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { allEvents, expectProblem, orderWhen, sqlCount } from '../support/e2e.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api } from '../support/http.js';
import { foreignToken, signWithDevKey, unsignedToken } from '../support/tokens.js';

/**
 * Bad requests (API.md "Conventions"): each is answered with the right 4xx problem+json carrying a
 * stable `code` and the request id, and none of them writes anything.
 */
const BODY_LIMIT = 1024;

let db: TestDatabase;
let gw: GatewayProcess;
let api: Api;
let accountId: string;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  db = await createTestDatabase();
  gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    BODY_LIMIT_BYTES: String(BODY_LIMIT),
  });
  api = new Api(gw.url, gw.traderToken);
  accountId = gw.accountId;
  const otherAccount = randomUUID();
  tokens.viewer = await mintToken(db.url, ['--sub', 'e2e-viewer', '--role', 'viewer', '--account', accountId]);
  tokens.otherTrader = await mintToken(db.url, ['--sub', 'e2e-other', '--role', 'trader', '--account', otherAccount]);
  tokens.otherAccount = otherAccount;
  const past = Math.floor(Date.now() / 1000) - 3600;
  tokens.expired = await signWithDevKey(db.dataSource, { roles: ['trader'], accounts: ['*'], exp: past });
  tokens.wrongAudience = await signWithDevKey(db.dataSource, {
    roles: ['trader'],
    accounts: ['*'],
    audience: 'someone-else',
  });
  tokens.wrongIssuer = await signWithDevKey(db.dataSource, {
    roles: ['trader'],
    accounts: ['*'],
    issuer: 'https://evil.example',
  });
  tokens.foreign = await foreignToken({ roles: ['trader'], accounts: ['*'] });
  tokens.unsigned = unsignedToken();
  tokens.starAdmin = await signWithDevKey(db.dataSource, { roles: ['admin'], accounts: ['*'] });
  tokens.accountAdmin = await signWithDevKey(db.dataSource, { roles: ['admin'], accounts: [accountId] });
  tokens.starTrader = await signWithDevKey(db.dataSource, { roles: ['trader'], accounts: ['*'] });
  // The banner's trader token with its payload swapped for one granting every account and role.
  const [header, , signature] = gw.traderToken.split('.');
  const payload = Buffer.from(
    JSON.stringify({
      ...JSON.parse(Buffer.from(gw.traderToken.split('.')[1]!, 'base64url').toString()),
      roles: ['admin', 'trader'],
      accounts: ['*'],
    }),
  ).toString('base64url');
  tokens.tampered = `${header}.${payload}.${signature}`;
});

afterAll(async () => {
  await gw?.stop();
  await db?.drop();
});

const valid = { clientOrderId: 'bad-base', symbol: 'SPY', side: 'buy', quantity: '1', type: 'market' };

interface Case {
  name: string;
  status: number;
  code: string;
  body?: unknown;
  /** Raw body text (sent as is, with content-type application/json). */
  raw?: string;
  /** undefined: the trader token; null: no Authorization header; a string: that header value. */
  authorization?: string | null | (() => string);
  path?: () => string;
  method?: string;
  /** Field paths that `errors[]` must name. */
  paths?: string[];
  contentType?: string;
}

const orders = () => `/v1/accounts/${accountId}/orders`;
const bearer = (name: string) => () => `Bearer ${tokens[name]}`;

const cases: Case[] = [
  {
    name: 'empty body object',
    body: {},
    status: 422,
    code: 'validation.failed',
    paths: ['clientOrderId', 'symbol', 'side', 'quantity', 'type'],
  },
  {
    name: 'missing quantity',
    body: { ...valid, quantity: undefined },
    status: 422,
    code: 'validation.failed',
    paths: ['quantity'],
  },
  {
    name: 'missing side',
    body: { ...valid, side: undefined },
    status: 422,
    code: 'validation.failed',
    paths: ['side'],
  },
  {
    name: 'negative quantity',
    body: { ...valid, quantity: '-5' },
    status: 422,
    code: 'validation.failed',
    paths: ['quantity'],
  },
  {
    name: 'zero quantity',
    body: { ...valid, quantity: '0' },
    status: 422,
    code: 'validation.failed',
    paths: ['quantity'],
  },
  {
    name: 'zero quantity with decimals',
    body: { ...valid, quantity: '0.000' },
    status: 422,
    code: 'validation.failed',
    paths: ['quantity'],
  },
  {
    name: 'non-decimal quantity',
    body: { ...valid, quantity: 'ten' },
    status: 422,
    code: 'validation.failed',
    paths: ['quantity'],
  },
  {
    name: 'exponent quantity',
    body: { ...valid, quantity: '1e3' },
    status: 422,
    code: 'validation.failed',
    paths: ['quantity'],
  },
  {
    name: 'hex quantity',
    body: { ...valid, quantity: '0x10' },
    status: 422,
    code: 'validation.failed',
    paths: ['quantity'],
  },
  {
    name: 'quantity with a thousands separator',
    body: { ...valid, quantity: '1,000' },
    status: 422,
    code: 'validation.failed',
    paths: ['quantity'],
  },
  {
    name: 'JSON-number quantity',
    body: { ...valid, quantity: 10 },
    status: 422,
    code: 'validation.failed',
    paths: ['quantity'],
  },
  {
    name: 'absurdly large quantity',
    body: { ...valid, quantity: '12345678901234567890' },
    status: 422,
    code: 'validation.failed',
    paths: ['quantity'],
  },
  {
    name: 'limitPrice on a market order',
    body: { ...valid, limitPrice: '167.40' },
    status: 422,
    code: 'validation.failed',
    paths: ['limitPrice'],
  },
  {
    name: 'stopPrice on a limit order',
    body: { ...valid, type: 'limit', limitPrice: '167.40', stopPrice: '167' },
    status: 422,
    code: 'validation.failed',
    paths: ['stopPrice'],
  },
  {
    name: 'missing limitPrice on a limit order',
    body: { ...valid, type: 'limit' },
    status: 422,
    code: 'validation.failed',
    paths: ['limitPrice'],
  },
  {
    name: 'JSON-number limitPrice',
    body: { ...valid, type: 'limit', limitPrice: 167.4 },
    status: 422,
    code: 'validation.failed',
    paths: ['limitPrice'],
  },
  {
    name: 'non-decimal limitPrice',
    body: { ...valid, type: 'limit', limitPrice: 'cheap' },
    status: 422,
    code: 'validation.failed',
    paths: ['limitPrice'],
  },
  {
    name: 'negative limitPrice',
    body: { ...valid, type: 'limit', limitPrice: '-167.40' },
    status: 422,
    code: 'validation.failed',
    paths: ['limitPrice'],
  },
  { name: 'unknown side', body: { ...valid, side: 'hold' }, status: 422, code: 'validation.failed', paths: ['side'] },
  {
    name: 'unknown type',
    body: { ...valid, type: 'iceberg' },
    status: 422,
    code: 'validation.failed',
    paths: ['type'],
  },
  {
    name: 'unknown timeInForce',
    body: { ...valid, timeInForce: 'forever' },
    status: 422,
    code: 'validation.failed',
    paths: ['timeInForce'],
  },
  {
    name: 'unknown (untradable) ticker',
    body: { ...valid, symbol: 'ZZZZ' },
    status: 422,
    code: 'validation.failed',
    paths: ['symbol'],
  },
  {
    name: 'lower-case / malformed symbol',
    body: { ...valid, symbol: 'spy!' },
    status: 422,
    code: 'validation.failed',
    paths: ['symbol'],
  },
  {
    name: 'option contract without market data',
    body: { ...valid, symbol: 'SPXW  210104C09990000' },
    status: 422,
    code: 'validation.failed',
    paths: ['symbol'],
  },
  {
    name: 'fractional option quantity',
    body: { ...valid, symbol: 'SPXW  210104C03700000', quantity: '1.5' },
    status: 422,
    code: 'validation.failed',
    paths: ['quantity'],
  },
  {
    name: 'clientOrderId with a space',
    body: { ...valid, clientOrderId: 'has space' },
    status: 422,
    code: 'validation.failed',
    paths: ['clientOrderId'],
  },
  {
    name: 'clientOrderId with a slash',
    body: { ...valid, clientOrderId: 'a/b' },
    status: 422,
    code: 'validation.failed',
    paths: ['clientOrderId'],
  },
  {
    name: 'clientOrderId of 65 characters',
    body: { ...valid, clientOrderId: 'x'.repeat(65) },
    status: 422,
    code: 'validation.failed',
    paths: ['clientOrderId'],
  },
  {
    name: 'empty clientOrderId',
    body: { ...valid, clientOrderId: '' },
    status: 422,
    code: 'validation.failed',
    paths: ['clientOrderId'],
  },
  {
    name: 'JSON-number clientOrderId',
    body: { ...valid, clientOrderId: 12345 },
    status: 422,
    code: 'validation.failed',
    paths: ['clientOrderId'],
  },
  { name: 'unknown extra field', body: { ...valid, limit_price: '167.40' }, status: 422, code: 'validation.failed' },
  { name: 'a JSON array body', body: [valid], status: 422, code: 'validation.failed' },
  {
    name: 'malformed JSON',
    raw: '{"clientOrderId": "bad-json", "symbol": ',
    status: 400,
    code: 'validation.malformed_json',
  },
  {
    name: 'JSON with a trailing comma',
    raw: '{"clientOrderId": "bad-json2",}',
    status: 400,
    code: 'validation.malformed_json',
  },
  {
    name: 'body over BODY_LIMIT_BYTES',
    raw: JSON.stringify({ ...valid, clientOrderId: 'bad-big', pad: 'x'.repeat(BODY_LIMIT * 2) }),
    status: 413,
    code: 'validation.body_too_large',
  },
  {
    name: 'JSON in a text/plain body',
    raw: JSON.stringify({ ...valid, clientOrderId: 'bad-text' }),
    contentType: 'text/plain',
    status: 422,
    code: 'validation.failed',
  },
  {
    name: 'JSON in an unsupported charset',
    raw: JSON.stringify({ ...valid, clientOrderId: 'bad-latin1' }),
    contentType: 'application/json; charset=latin1',
    status: 415,
    code: 'validation.unsupported_media_type',
  },
  { name: 'no token', body: valid, authorization: null, status: 401, code: 'auth.unauthenticated' },
  { name: 'garbage token', body: valid, authorization: 'Bearer not.a.jwt', status: 401, code: 'auth.unauthenticated' },
  {
    name: 'Basic credentials',
    body: valid,
    authorization: 'Basic dXNlcjpwYXNz',
    status: 401,
    code: 'auth.unauthenticated',
  },
  { name: 'expired token', body: valid, authorization: bearer('expired'), status: 401, code: 'auth.unauthenticated' },
  {
    name: 'token for another audience',
    body: valid,
    authorization: bearer('wrongAudience'),
    status: 401,
    code: 'auth.unauthenticated',
  },
  {
    name: 'token of another issuer',
    body: valid,
    authorization: bearer('wrongIssuer'),
    status: 401,
    code: 'auth.unauthenticated',
  },
  {
    name: 'token signed by an unknown key',
    body: valid,
    authorization: bearer('foreign'),
    status: 401,
    code: 'auth.unauthenticated',
  },
  {
    name: 'unsigned (alg none) token',
    body: valid,
    authorization: bearer('unsigned'),
    status: 401,
    code: 'auth.unauthenticated',
  },
  {
    name: 'token with a tampered payload',
    body: valid,
    authorization: bearer('tampered'),
    status: 401,
    code: 'auth.unauthenticated',
  },
  {
    name: 'viewer placing an order',
    body: valid,
    authorization: bearer('viewer'),
    status: 403,
    code: 'auth.forbidden',
  },
  {
    name: 'trader of another account placing here',
    body: valid,
    authorization: bearer('otherTrader'),
    status: 404,
    code: 'account.not_found',
  },
  {
    name: 'trader of another account placing in its own (unknown) account',
    body: valid,
    authorization: bearer('otherTrader'),
    path: () => `/v1/accounts/${tokens.otherAccount}/orders`,
    status: 404,
    code: 'account.not_found',
  },
  {
    name: 'random account id',
    body: valid,
    path: () => `/v1/accounts/${randomUUID()}/orders`,
    status: 404,
    code: 'account.not_found',
  },
  {
    name: 'account id that is not an id',
    body: valid,
    path: () => `/v1/accounts/not-an-id/orders`,
    status: 404,
    code: 'account.not_found',
  },
  {
    name: "GET of another account's orders",
    method: 'GET',
    authorization: bearer('otherTrader'),
    status: 404,
    code: 'account.not_found',
  },
  {
    name: 'GET of an unknown order',
    method: 'GET',
    path: () => `${orders()}/${randomUUID()}`,
    status: 404,
    code: 'order.not_found',
  },
  {
    name: 'GET of an order id that is not an id',
    method: 'GET',
    path: () => `${orders()}/nope`,
    status: 404,
    code: 'order.not_found',
  },
  {
    name: 'cancel of an unknown order',
    method: 'DELETE',
    path: () => `${orders()}/${randomUUID()}`,
    status: 404,
    code: 'order.not_found',
  },
  {
    name: 'events with a negative cursor',
    method: 'GET',
    path: () => `/v1/accounts/${accountId}/events?after=-1`,
    status: 422,
    code: 'validation.failed',
  },
  {
    name: 'events after a non-number',
    method: 'GET',
    path: () => `/v1/accounts/${accountId}/events?after=abc`,
    status: 422,
    code: 'validation.failed',
  },
  {
    name: 'events after a seq beyond bigint',
    method: 'GET',
    path: () => `/v1/accounts/${accountId}/events?after=9223372036854775808`,
    status: 422,
    code: 'validation.failed',
  },
  {
    name: 'orders after a cursor that is not an id',
    method: 'GET',
    path: () => `${orders()}?after=nope`,
    status: 422,
    code: 'validation.failed',
  },
  {
    name: 'executions with limit 0',
    method: 'GET',
    path: () => `/v1/accounts/${accountId}/executions?limit=0`,
    status: 422,
    code: 'validation.failed',
  },
  {
    name: 'account create with an empty body',
    path: () => '/v1/accounts',
    authorization: bearer('starAdmin'),
    body: {},
    status: 422,
    code: 'validation.failed',
    paths: ['name', 'broker', 'environment'],
  },
  {
    name: 'account create with an unknown field',
    path: () => '/v1/accounts',
    authorization: bearer('starAdmin'),
    body: { name: 'acct-x', broker: 'paper', environment: 'paper', liveEnabled: true },
    status: 422,
    code: 'validation.failed',
  },
  {
    name: 'account create with a name of spaces and an unknown environment',
    path: () => '/v1/accounts',
    authorization: bearer('starAdmin'),
    body: { name: '  ', broker: 'paper', environment: 'demo' },
    status: 422,
    code: 'validation.failed',
    paths: ['name', 'environment'],
  },
  {
    name: 'account create on a broker this deployment does not have',
    path: () => '/v1/accounts',
    authorization: bearer('starAdmin'),
    body: { name: 'acct-kalshi', broker: 'kalshi', environment: 'paper' },
    status: 422,
    code: 'account.broker_not_configured',
    paths: ['broker'],
  },
  {
    name: 'account create of a live account in a paper-only deployment',
    path: () => '/v1/accounts',
    authorization: bearer('starAdmin'),
    body: { name: 'acct-live', broker: 'paper', environment: 'live' },
    status: 422,
    code: 'account.environment_not_served',
    paths: ['environment'],
  },
  {
    name: 'account create with a name that is taken',
    path: () => '/v1/accounts',
    authorization: bearer('starAdmin'),
    body: { name: 'paper-demo', broker: 'paper', environment: 'paper' },
    status: 409,
    code: 'account.name_taken',
  },
  {
    name: 'account create by an admin of one account only',
    path: () => '/v1/accounts',
    authorization: bearer('accountAdmin'),
    body: { name: 'acct-one', broker: 'paper', environment: 'paper' },
    status: 403,
    code: 'auth.forbidden',
  },
  {
    name: 'account create by a trader with every account',
    path: () => '/v1/accounts',
    authorization: bearer('starTrader'),
    body: { name: 'acct-trader', broker: 'paper', environment: 'paper' },
    status: 403,
    code: 'auth.forbidden',
  },
  {
    name: 'orders with an unknown status filter',
    method: 'GET',
    path: () => `${orders()}?status=weird`,
    status: 422,
    code: 'validation.failed',
  },
];

async function counts() {
  const q = (table: string) => sqlCount(db.dataSource, `SELECT count(*) AS n FROM ${table}`);
  return {
    orders: await q('orders'),
    orderEvents: await q('order_events'),
    idempotencyKeys: await q('idempotency_keys'),
    venueOrders: await q('paper_venue_orders'),
    accounts: await q('accounts'),
    accountEvents: (await allEvents(api, accountId)).length,
  };
}

describe('bad requests', () => {
  it.each(cases.map((c, i) => [c.name, c, i] as const))('%s → problem+json, nothing written', async (_name, c, i) => {
    const before = await counts();
    const requestId = `bad-input-${i}`;
    const auth = typeof c.authorization === 'function' ? c.authorization() : c.authorization;
    const headers: Record<string, string> = {
      'x-request-id': requestId,
      ...(c.contentType ? { 'content-type': c.contentType } : {}),
    };
    if (auth !== null && auth !== undefined) {
      headers.authorization = auth;
    }
    const client = new Api(gw.url, auth === undefined ? gw.traderToken : undefined);
    const method = c.method ?? 'POST';
    const res = await client.request(method, (c.path ?? orders)(), c.raw ?? c.body, headers);

    const problem = expectProblem(res, c.status, c.code);
    expect(res.headers.get('x-request-id')).toBe(requestId);
    expect(problem.requestId).toBe(requestId);
    if (c.paths) {
      expect(problem.errors, JSON.stringify(problem)).toEqual(expect.any(Array));
      const named = (problem.errors as { path: string; message: string }[]).map((e) => e.path);
      for (const path of c.paths) {
        expect(named, JSON.stringify(problem.errors)).toContain(path);
      }
      for (const e of problem.errors) {
        expect(e.message).toEqual(expect.any(String));
      }
    }
    if (c.code === 'validation.failed' && method === 'POST') {
      expect(problem.errors?.length ?? 0, JSON.stringify(problem)).toBeGreaterThan(0);
    }
    expect(await counts()).toEqual(before);
  });
});

describe('request ids, health and metrics', () => {
  it('makes up a request id when none is given, and puts it in the header and the problem body', async () => {
    const res = await api.post(orders(), {});
    const problem = expectProblem(res, 422, 'validation.failed');
    expect(problem.requestId).toMatch(/^[A-Za-z0-9._:-]{8,}$/);
  });

  it('echoes X-Request-Id on successful answers too', async () => {
    for (const path of ['/health/live', '/health/ready', '/metrics', `/v1/accounts/${accountId}`, '/v1/quotes/SPY']) {
      const res = await api.request('GET', path, undefined, { 'x-request-id': `ok-${path.length}` });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('x-request-id'), path).toBe(`ok-${path.length}`);
    }
    const created = await api.post(orders(), { ...valid, clientOrderId: 'rid-ok-1' }, { 'x-request-id': 'rid-ok-1' });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-request-id')).toBe('rid-ok-1');
    await orderWhen(api, accountId, created.body.id, (o) => o.status === 'filled', 'filled');
  });

  it('answers health and metrics without a token', async () => {
    const anonymous = new Api(gw.url);
    const live = await anonymous.get('/health/live');
    expect(live.status).toBe(200);
    const ready = await anonymous.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', checks: { database: { status: 'up' }, redis: { status: 'up' } } });
    const metrics = await anonymous.get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(String(metrics.body)).toContain('gateway_orders_total');
    // The one order placed by this file counts as created; the bad requests above never did.
    expect(String(metrics.body)).toMatch(
      /^gateway_orders_total\{outcome="created",environment="paper",environments="paper"\} 1$/m,
    );
  });

  it('answers an unknown route with a problem', async () => {
    expectProblem(await api.get('/v1/nowhere'), 404, 'route.not_found');
    expectProblem(await new Api(gw.url).get('/nowhere'), 404, 'route.not_found');
  });

  it('lets a viewer read the account but not trade or cancel', async () => {
    const viewer = api.withToken(tokens.viewer);
    expect((await viewer.get(`/v1/accounts/${accountId}/events`)).status).toBe(200);
    const [filled] = (await viewer.get(`${orders()}?clientOrderId=rid-ok-1`)).body.orders;
    expect(filled).toMatchObject({ clientOrderId: 'rid-ok-1', status: 'filled' });
    expectProblem(await viewer.delete(`${orders()}/${filled.id}`), 403, 'auth.forbidden');
    expectProblem(await viewer.delete(orders()), 403, 'auth.forbidden');
  });

  it('answers the cancel of a filled order with 422 order.not_cancelable, writing nothing', async () => {
    const [filled] = (await api.get(`${orders()}?clientOrderId=rid-ok-1`)).body.orders;
    const before = (await allEvents(api, accountId)).length;
    const res = await api.delete(`${orders()}/${filled.id}`);
    expectProblem(res, 422, 'order.not_cancelable');
    expect((await allEvents(api, accountId)).length).toBe(before);
  });
});
