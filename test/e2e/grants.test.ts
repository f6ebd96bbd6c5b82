import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { expectProblem } from '../support/e2e.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { restingSpyBuy } from '../support/orders.js';
import { Api, eventually } from '../support/http.js';
import { signWithDevKey } from '../support/tokens.js';

/**
 * Per-account grants in PostgreSQL (README, "Grants"): a subject whose token names no account reaches only the
 * accounts an admin granted it, with the roles granted there; a read of an account not granted answers
 * 404 (no existence leak), an action the grant's roles do not cover 403. Only admins change grants.
 */
let db: TestDatabase;
let gw: GatewayProcess;
let admin: Api;
let alice: Api;
let trader: Api;

const order = restingSpyBuy;

beforeAll(async () => {
  db = await createTestDatabase();
  gw = await startGatewayProcess({ DATABASE_URL: db.url, REDIS_PREFIX: redisPrefix() });
  admin = new Api(gw.url, await signWithDevKey(db.dataSource, { sub: 'root', roles: ['admin'], accounts: ['*'] }));
  // Alice's token has the roles but names no account: what she reaches is what the grants say.
  alice = new Api(
    gw.url,
    await signWithDevKey(db.dataSource, { sub: 'alice', roles: ['viewer', 'trader'], accounts: [] }),
  );
  trader = new Api(gw.url, gw.traderToken);
});

afterAll(async () => {
  await gw?.stop();
  await db?.drop();
});

describe('account grants', () => {
  it('gives a subject the granted accounts with the granted roles, and takes them back', async () => {
    const id = gw.accountId;
    const grantPath = `/v1/accounts/${id}/grants/alice`;
    expect((await alice.get('/v1/accounts')).body).toEqual([]);
    expectProblem(await alice.get(`/v1/accounts/${id}`), 404, 'account.not_found');
    expectProblem(await alice.post(`/v1/accounts/${id}/orders`, order('a-0')), 404, 'account.not_found');

    // Only an admin grants.
    expectProblem(await trader.request('PUT', grantPath, { roles: ['viewer'] }), 403, 'auth.forbidden');
    expectProblem(await admin.request('PUT', grantPath, { roles: ['owner'] }), 422, 'validation.failed');
    const viewer = await admin.request('PUT', grantPath, { roles: ['viewer'] });
    expect(viewer.status, JSON.stringify(viewer.body)).toBe(200);
    expect(viewer.body).toMatchObject({ subject: 'alice', accountId: id, roles: ['viewer'], grantedBy: 'root' });

    // Visible now: reads pass, and an order is 403 (the grant does not cover trading), nothing recorded.
    expect((await alice.get('/v1/accounts')).body.map((a: any) => a.id)).toEqual([id]);
    expect((await alice.get(`/v1/accounts/${id}/orders`)).status).toBe(200);
    expectProblem(await alice.post(`/v1/accounts/${id}/orders`, order('a-1')), 403, 'auth.forbidden');
    const [{ n }] = await db.dataSource.query(`SELECT count(*)::int AS n FROM orders WHERE client_order_id = 'a-1'`);
    expect(n).toBe(0);

    expect((await admin.request('PUT', grantPath, { roles: ['viewer', 'trader'] })).status).toBe(200);
    expect((await alice.post(`/v1/accounts/${id}/orders`, order('a-2'))).status).toBe(201);
    const listed = (await admin.get(`/v1/accounts/${id}/grants`)).body.grants;
    expect(listed).toEqual([expect.objectContaining({ subject: 'alice', roles: ['viewer', 'trader'] })]);

    expect((await admin.request('DELETE', grantPath)).status).toBe(204);
    expectProblem(await admin.request('DELETE', grantPath), 404, 'grant.not_found');
    expectProblem(await alice.get(`/v1/accounts/${id}`), 404, 'account.not_found');
    expect((await alice.get('/v1/accounts')).body).toEqual([]);
  });

  it('lets an admin switch a live account on, and audits every grant change', async () => {
    const res = await admin.request('PATCH', `/v1/accounts/${gw.accountId}`, { liveEnabled: true });
    expect(res.status).toBe(200);
    expect(res.body.liveEnabled).toBe(false); // a paper account is never "live enabled"
    expectProblem(
      await trader.request('PATCH', `/v1/accounts/${gw.accountId}`, { liveEnabled: true }),
      403,
      'auth.forbidden',
    );
    // Audit entries are written as responses end: wait for them.
    const grantChanges = await eventually(
      async () => {
        const audit = (await admin.get('/v1/audit?limit=1000')).body.entries;
        const found = audit.filter((e: any) => String(e.route).includes('/grants/'));
        return found.length >= 6 ? found : null;
      },
      10_000,
      'grant changes in the audit log',
    );
    expect(grantChanges.map((e: any) => e.status)).toEqual(expect.arrayContaining([200, 204, 403, 404, 422]));
  });
});
