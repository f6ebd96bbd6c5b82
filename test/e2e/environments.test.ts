import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { expectProblem } from '../support/e2e.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { restingSpyBuy } from '../support/orders.js';
import { Api, eventually } from '../support/http.js';
import { StreamClient } from '../support/stream-client.js';
import { signWithDevKey } from '../support/tokens.js';

/**
 * Paper/live isolation (README, "Paper and live"): a token is granted environments (claim `environments`; none named
 * means paper only); a live account is invisible to a paper-only token (404 on every route and on the
 * stream, exactly as a missing account); a live account takes no order without its own `liveEnabled`
 * flag, nor while no live broker is configured, so nothing of it ever reaches the paper venue; and a
 * deployment that serves only paper refuses to start with a live account in its database.
 */
let db: TestDatabase;
let gw: GatewayProcess | undefined;
let liveId: string;
let paperOnly: Api;
let liveGranted: Api;

const order = restingSpyBuy;

beforeAll(async () => {
  db = await createTestDatabase();
  const prefix = redisPrefix();
  gw = await startGatewayProcess({ DATABASE_URL: db.url, REDIS_PREFIX: prefix, GATEWAY_ENVIRONMENTS: 'paper,live' });
  liveId = uuidv7();
  await db.dataSource.query(
    `INSERT INTO accounts (id, name, environment, broker) VALUES ($1, 'live-desk', 'live', 'alpaca')`,
    [liveId],
  );
  const roles = ['viewer', 'trader'];
  paperOnly = new Api(gw.url, await signWithDevKey(db.dataSource, { sub: 'paper-trader', roles }));
  liveGranted = new Api(
    gw.url,
    await signWithDevKey(db.dataSource, { sub: 'live-trader', roles, environments: ['paper', 'live'] }),
  );
});

afterAll(async () => {
  await gw?.stop();
  await db?.drop();
});

async function ordersOfLiveAccount(): Promise<number> {
  const [row] = await db.dataSource.query(`SELECT count(*)::int AS n FROM orders WHERE account_id = $1`, [liveId]);
  return row.n;
}

describe('paper and live isolation', () => {
  it('hides a live account from a paper-only token on every route and on the stream', async () => {
    const listed = (await paperOnly.get('/v1/accounts')).body.map((a: any) => a.id);
    expect(listed).toContain(gw!.accountId);
    expect(listed).not.toContain(liveId);
    expectProblem(await paperOnly.get(`/v1/accounts/${liveId}`), 404, 'account.not_found');
    expectProblem(await paperOnly.get(`/v1/accounts/${liveId}/orders`), 404, 'account.not_found');
    expectProblem(await paperOnly.post(`/v1/accounts/${liveId}/orders`, order('p-1')), 404, 'account.not_found');
    expectProblem(await paperOnly.delete(`/v1/accounts/${liveId}/orders/${uuidv7()}`), 404, 'account.not_found');
    expectProblem(await paperOnly.delete(`/v1/accounts/${liveId}/orders`), 404, 'account.not_found');
    expectProblem(await paperOnly.get(`/v1/accounts/${liveId}/events`), 404, 'account.not_found');
    expectProblem(await paperOnly.get(`/v1/accounts/${liveId}/positions`), 404, 'account.not_found');

    const stream = await StreamClient.connect(gw!.url);
    try {
      await stream.authenticate(paperOnly.token!);
      expect(await stream.subscribeOrders(liveId, 0)).toMatchObject({ type: 'error', code: 'auth.forbidden' });
    } finally {
      stream.close();
    }
    // The paper account is still the paper token's to trade.
    expect((await paperOnly.post(`/v1/accounts/${gw!.accountId}/orders`, order('p-2'))).status).toBe(201);
    expect(await ordersOfLiveAccount()).toBe(0);
  });

  it('refuses orders of a live account without liveEnabled even from a live-granted token, and with it while no live broker is configured', async () => {
    const account = await liveGranted.get(`/v1/accounts/${liveId}`);
    expect(account.status).toBe(200);
    expect(account.body).toMatchObject({ id: liveId, environment: 'live', liveEnabled: false });
    expectProblem(
      await liveGranted.post(`/v1/accounts/${liveId}/orders`, order('l-1')),
      403,
      'account.live_not_enabled',
    );

    await db.dataSource.query(`UPDATE accounts SET live_enabled = true WHERE id = $1`, [liveId]);
    expect((await liveGranted.get(`/v1/accounts/${liveId}`)).body.liveEnabled).toBe(true);
    // The only execution client is the paper venue: a live order must never be sent there.
    expectProblem(await liveGranted.post(`/v1/accounts/${liveId}/orders`, order('l-2')), 503, 'service.unavailable');
    expect(await ordersOfLiveAccount()).toBe(0);
  });

  it('audits the stream’s refusals: a bad token and a subscription to an account not visible', async () => {
    const admin = new Api(
      gw!.url,
      await signWithDevKey(db.dataSource, { sub: 'root', roles: ['admin'], accounts: ['*'] }),
    );
    const stream = await StreamClient.connect(gw!.url);
    stream.send({ op: 'auth', token: 'not-a-token' });
    expect(await stream.waitForClose()).toBe(4401);
    const entries = await eventually(
      async () => {
        const all = (await admin.get('/v1/audit?limit=1000')).body.entries as any[];
        const found = all.filter((e) => e.route === '/v1/stream');
        return found.some((e) => e.action === 'stream.auth') ? found : null;
      },
      10_000,
      'stream refusals in the audit log',
    );
    expect(entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'stream.auth', status: 401, code: 'auth.unauthenticated' }),
        expect.objectContaining({
          action: 'stream.subscribe',
          status: 403,
          code: 'auth.forbidden',
          subject: 'paper-trader',
          accountId: liveId,
        }),
      ]),
    );
  });

  it('a paper-only deployment refuses to start with a live account in its database', async () => {
    await gw?.stop();
    gw = undefined;
    const started = startGatewayProcess({
      DATABASE_URL: db.url,
      REDIS_PREFIX: redisPrefix(),
      GATEWAY_ENVIRONMENTS: 'paper',
    });
    await expect(started).rejects.toThrow(/GATEWAY_ENVIRONMENTS=paper .*live-desk \(live\).*refusing to start/s);
  });
});
