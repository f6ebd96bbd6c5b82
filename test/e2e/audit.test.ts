import { randomUUID } from 'node:crypto';
import { importJWK, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditLog } from '../../apps/gateway/src/audit/audit-log.repository.js';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { type GatewayProcess, runCli, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually, type JsonResponse } from '../support/http.js';
import { D } from '../support/market-data.js';
import { apiAs, limitsPath, putLimits } from '../support/risk.js';
import { DEV_AUDIENCE, DEV_ISSUER } from '../support/tokens.js';

/*
 * The audit log (README, "Audit log"): every order, cancel, replace, limit change and kill switch, and the 401 and
 * 403 answers, are in GET /v1/audit with who, what, target, outcome and request id; `audit:verify`
 * passes on the untouched chain and names the seq of a row edited, then of a row deleted, behind the
 * append-only database trigger's back.
 */

let db: TestDatabase;
let gw: GatewayProcess;
let trader: Api;
let traderToken: string;
let risk: Api;
let admin: Api;
let price: string;

/** A dev-key token that also names the OAuth2 client it was issued to (`azp`), as an OIDC provider's does. */
async function tokenWithClient(sub: string, roles: string[], azp: string): Promise<string> {
  const [key] = await db.dataSource.query<{ kid: string; private_jwk: JWK }[]>(
    `SELECT kid, private_jwk FROM signing_keys WHERE alg = 'ES256' ORDER BY created_at ASC LIMIT 1`,
  );
  return new SignJWT({ roles, accounts: ['*'], azp })
    .setProtectedHeader({ alg: 'ES256', kid: key!.kid, typ: 'at+jwt' })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setSubject(sub)
    .setIssuedAt()
    .setJti(randomUUID())
    .setExpirationTime('1h')
    .sign(await importJWK(key!.private_jwk, 'ES256'));
}

/** Runs the built `gateway audit verify` command against the test database. */
async function auditVerify(): Promise<{ code: number | null; out: string }> {
  const run = await runCli(['audit', 'verify'], { DATABASE_URL: db.url });
  return { code: run.code, out: `${run.stdout}${run.stderr}`.trim() };
}

beforeAll(async () => {
  db = await createTestDatabase();
  gw = await startGatewayProcess({ DATABASE_URL: db.url, REDIS_PREFIX: redisPrefix(), PAPER_START_TIME: '09:30:05' });
  traderToken = await tokenWithClient('audit-trader', ['trader'], 'web-app');
  trader = new Api(gw.url, traderToken);
  risk = await apiAs(db.dataSource, gw.url, 'audit-risk', ['risk']);
  admin = await apiAs(db.dataSource, gw.url, 'audit-admin', ['admin']);
  price = new D((await trader.get('/v1/quotes/SPY')).body.bid).minus('0.50').toFixed(2);
});
afterAll(async () => {
  await gw?.stop('SIGKILL');
  await db?.drop();
});

describe('audit log', () => {
  it('records every change and security event, and audit:verify finds an edited and a deleted row', async () => {
    const accountId = gw.accountId;
    const orders = `/v1/accounts/${accountId}/orders`;
    const order = (clientOrderId: string) => ({
      clientOrderId,
      symbol: 'SPY',
      side: 'buy',
      quantity: '3',
      type: 'limit',
      limitPrice: price,
    });

    const placed = await trader.post(orders, order('audit-1'));
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    const canceled = await trader.delete(`${orders}/${placed.body.id}`);
    expect(canceled.status, JSON.stringify(canceled.body)).toBe(202);
    const second = await trader.post(orders, order('audit-2'));
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    const replaced = await trader.patch(`${orders}/${second.body.id}`, {
      clientOrderId: 'audit-2b',
      limitPrice: new D(price).minus('0.01').toFixed(2),
    });
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(202);
    const current = await risk.get(limitsPath(accountId));
    const limits = await putLimits(risk, accountId, {
      limits: { ...current.body.limits, maxOrderQuantity: '500' },
      reason: 'secret-looking reason text',
      version: current.body.version,
    });
    expect(limits.status, JSON.stringify(limits.body)).toBe(200);
    const halt = await risk.post('/v1/kill-switch', { scope: 'account', accountId, reason: 'audit halt' });
    expect(halt.status, JSON.stringify(halt.body)).toBe(202);
    const rearm = await risk.request('DELETE', '/v1/kill-switch', { scope: 'account', accountId, reason: 'ok' });
    expect(rearm.status, JSON.stringify(rearm.body)).toBe(200);
    const noToken = await new Api(gw.url).get('/v1/accounts');
    expect(noToken.status).toBe(401);
    const badToken = await new Api(gw.url, `${traderToken}x`).post(orders, order('audit-3'));
    expect(badToken.status).toBe(401);
    const forbidden = await trader.post('/v1/kill-switch', { scope: 'global', reason: 'not a trader’s call' });
    expect(forbidden.status).toBe(403);
    const read = await trader.get(orders); // a read: not audited
    for (let i = 0; i < 3; i++) {
      // More than 9 rows, so an ordering by seq's text (10 before 9) would show.
      expect((await new Api(gw.url).delete(`${orders}/${placed.body.id}`)).status).toBe(401);
    }
    expect(read.status).toBe(200);

    const requestId = (res: JsonResponse) => res.headers.get('x-request-id')!;
    const T = { kind: 'change', subject: 'audit-trader', clientId: 'web-app', code: null };
    const R = { kind: 'change', subject: 'audit-risk', clientId: null, code: null };
    const paper = { accountId, environment: 'paper' };
    const ordersRoute = '/v1/accounts/:accountId/orders';
    const cases: [string, JsonResponse, Record<string, unknown>][] = [
      [
        'place',
        placed,
        {
          ...T,
          ...paper,
          method: 'POST',
          route: ordersRoute,
          action: 'orders.place',
          status: 201,
          target: { accountId, clientOrderId: 'audit-1' },
        },
      ],
      [
        'cancel',
        canceled,
        {
          ...T,
          ...paper,
          method: 'DELETE',
          route: `${ordersRoute}/:orderId`,
          action: 'orders.cancel',
          status: 202,
          target: { accountId, orderId: placed.body.id },
        },
      ],
      [
        'replace',
        replaced,
        {
          ...T,
          ...paper,
          method: 'PATCH',
          route: `${ordersRoute}/:orderId`,
          action: 'orders.replace',
          status: 202,
          target: { accountId, orderId: second.body.id, clientOrderId: 'audit-2b' },
        },
      ],
      [
        'limits',
        limits,
        {
          ...R,
          ...paper,
          method: 'PUT',
          route: '/v1/accounts/:accountId/risk-limits',
          action: 'risk.putLimits',
          status: 200,
          target: { accountId },
        },
      ],
      [
        'halt',
        halt,
        {
          ...R,
          ...paper,
          method: 'POST',
          route: '/v1/kill-switch',
          action: 'risk.halt',
          status: 202,
          target: { scope: 'account', accountId },
        },
      ],
      [
        'rearm',
        rearm,
        {
          ...R,
          ...paper,
          method: 'DELETE',
          route: '/v1/kill-switch',
          action: 'risk.rearm',
          status: 200,
          target: { scope: 'account', accountId },
        },
      ],
      [
        '401 read',
        noToken,
        {
          kind: 'security',
          subject: null,
          clientId: null,
          method: 'GET',
          route: '/v1/accounts',
          action: 'accounts.list',
          accountId: null,
          status: 401,
          code: 'auth.unauthenticated',
          target: {},
        },
      ],
      [
        '401 write',
        badToken,
        {
          kind: 'change',
          subject: null,
          clientId: null,
          ...paper,
          method: 'POST',
          route: ordersRoute,
          action: 'orders.place',
          status: 401,
          code: 'auth.unauthenticated',
        },
      ],
      [
        '403',
        forbidden,
        {
          ...T,
          accountId: null,
          environment: null,
          method: 'POST',
          route: '/v1/kill-switch',
          action: 'risk.halt',
          status: 403,
          code: 'auth.forbidden',
          target: { scope: 'global' },
        },
      ],
    ];
    const entries: any[] = await eventually(
      async () => {
        const res = await admin.get('/v1/audit?after=0&limit=1000');
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        const found = res.body.entries as any[];
        return cases.every(([, r]) => found.some((e) => e.requestId === requestId(r))) ? found : null;
      },
      5_000,
      'the audit entries',
    );
    const entryOf = (res: JsonResponse) => entries.find((e) => e.requestId === requestId(res));
    console.table(
      cases.map(([label, res]) => {
        const e = entryOf(res);
        return {
          label,
          seq: e.seq,
          who: `${e.subject ?? '-'} / ${e.clientId ?? '-'}`,
          what: `${e.method} ${e.route} ${e.action ?? ''}`,
          target: JSON.stringify(e.target),
          outcome: `${e.status} ${e.code ?? ''}`,
        };
      }),
    );
    for (const [label, res, expected] of cases) {
      expect(entryOf(res), label).toMatchObject({ ...expected, requestId: requestId(res) });
      expect(entryOf(res).hash, label).toMatch(/^[0-9a-f]{64}$/);
    }
    // Reads are not audited; nothing of a token or of a body beyond the allow-listed fields is kept.
    expect(entries.filter((e) => e.method === 'GET' && e.status === 200)).toEqual([]);
    const stored = JSON.stringify(entries);
    expect(stored).not.toContain(traderToken.split('.')[1]);
    expect(stored).not.toContain('secret-looking');
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));

    // The chain verifies; the database trigger refuses edits.
    expect(await auditVerify()).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^audit log intact: \d+ entries; head \d+:[0-9a-f]{64}/),
    });
    await expect(db.dataSource.query(`UPDATE audit_log SET status = 200 WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(db.dataSource.query(`DELETE FROM audit_log WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(db.dataSource.query(`TRUNCATE audit_log`)).rejects.toThrow(/append-only/);

    // The table's owner can switch the database trigger off; the chain still tells.
    const edited = entryOf(limits).seq as number;
    const deleted = entryOf(halt).seq as number;
    await db.dataSource.query(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`);
    try {
      await db.dataSource.query(`UPDATE audit_log SET subject = 'someone-else' WHERE seq = $1`, [edited]);
      const afterEdit = await auditVerify();
      expect(afterEdit.code, afterEdit.out).toBe(1);
      expect(afterEdit.out).toBe(
        `audit log BROKEN at seq ${edited} (hash_mismatch): seq ${edited} was edited: its contents do not hash to its stored hash; ${edited - 1} entries verified before it`,
      );
      await db.dataSource.query(`UPDATE audit_log SET subject = 'audit-risk' WHERE seq = $1`, [edited]);
      expect((await auditVerify()).code).toBe(0);

      await db.dataSource.query(`DELETE FROM audit_log WHERE seq = $1`, [deleted]);
      const afterDelete = await auditVerify();
      expect(afterDelete.code, afterDelete.out).toBe(1);
      expect(afterDelete.out).toContain(`BROKEN at seq ${deleted} (seq_gap): seq ${deleted} missing (deleted)`);
      const result = await verifyAuditLog(db.dataSource);
      expect(result.ok === false && result.break).toMatchObject({ kind: 'seq_gap', seq: String(deleted) });
    } finally {
      await db.dataSource.query(`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`);
    }
  });

  it('GET /v1/audit is for admins with a grant on every account', async () => {
    expect((await risk.get('/v1/audit')).status).toBe(403);
    const scoped = await apiAs(db.dataSource, gw.url, 'scoped-admin', ['admin'], [gw.accountId]);
    expect((await scoped.get('/v1/audit')).status).toBe(403);
    expect((await admin.get('/v1/audit?limit=0')).status).toBe(422);
    const page = await admin.get('/v1/audit?after=1&limit=2');
    expect(page.status).toBe(200);
    const seqs = page.body.entries.map((e: any) => e.seq);
    expect(seqs).toHaveLength(2);
    expect(seqs[0]).toBeGreaterThan(1);
    expect(seqs[1]).toBeGreaterThan(seqs[0]);
  });
});
