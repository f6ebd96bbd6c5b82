import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allExecutions,
  attempt,
  countBy,
  OPEN_STATUSES,
  SeededRandom,
  seedFrom,
  signed,
  UNCERTAIN_STATUSES,
} from '../support/chaos.js';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { allEvents, allOrders, expectProblem, orderWhen, stepReplay } from '../support/e2e.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { type Api, eventually } from '../support/http.js';
import { D, dec, loadOptionQuotes, parseTime, quoteAt } from '../support/market-data.js';
import {
  apiAs,
  changeLimits,
  createAccount,
  LIMIT_FIELDS,
  limitsPath,
  newYorkToday,
  otrRatio,
  putLimits,
} from '../support/risk.js';

/**
 * Risk controls (README), black-box against the built gateway: per-account limits that risk staff
 * change with who, when and why (versioned, loss limits never widened under exposure), the
 * order-to-trade ratio that moves an account to `reducing`, the SPXW 0DTE product rules (tick grid,
 * opening cut-off, × 100 notional), and the position and working-order limits under racing clients.
 * Each test has an account of its own, so no test's orders count in another's limits or ratio.
 *
 * Replay the racing plan with the printed seed: `RISK_SEED=<seed> npx vitest run test/e2e/risk-controls.test.ts`.
 */
const SEED = seedFrom('RISK_SEED');
const START = '09:30:10';
/** SPXW options quote minute bars: half a second into the 09:31 bar its quote is fresh. */
const OPTIONS_AT = '09:31:00.500';
const RISK_SUBJECT = 'e2e-risk-officer';

let db: TestDatabase;
let gw: GatewayProcess;
let admin: Api;
let risk: Api;

beforeAll(async () => {
  db = await createTestDatabase();
  gw = await startGatewayProcess({ DATABASE_URL: db.url, REDIS_PREFIX: redisPrefix(), PAPER_START_TIME: START });
  admin = await apiAs(db.dataSource, gw.url, 'e2e-admin', ['admin']);
  risk = await apiAs(db.dataSource, gw.url, RISK_SUBJECT, ['risk']);
});

afterAll(async () => {
  await gw?.stop();
  await db?.drop();
});

/** A fresh account and a trader (and viewer) granted only that account. */
async function freshAccount(name: string): Promise<{ id: string; trader: Api; viewer: Api }> {
  const id = await createAccount(db.dataSource, `${name}-${SEED}`);
  return {
    id,
    trader: await apiAs(db.dataSource, gw.url, `e2e-trader-${name}`, ['trader'], [id]),
    viewer: await apiAs(db.dataSource, gw.url, `e2e-viewer-${name}`, ['viewer'], [id]),
  };
}

const ordersPath = (accountId: string) => `/v1/accounts/${accountId}/orders`;

/** Places an order that must be accepted (201); returns it. */
async function placeOk(api: Api, accountId: string, body: Record<string, unknown>): Promise<any> {
  const res = await api.post(ordersPath(accountId), body);
  expect(res.status, `${JSON.stringify(body)} → ${JSON.stringify(res.body)}`).toBe(201);
  return res.body;
}

/** Places an order that must be denied with `code`; returns the problem. */
async function placeDenied(api: Api, accountId: string, body: Record<string, unknown>, code: string): Promise<any> {
  const problem = expectProblem(await api.post(ordersPath(accountId), body), 422, code);
  expect(problem.orderId, 'a denial names the denied order').toEqual(expect.any(String));
  return problem;
}

const filled = (api: Api, accountId: string, orderId: string) =>
  orderWhen(api, accountId, orderId, (o) => o.status === 'filled', 'filled');

/** The account's signed position in `symbol` (0 when it has none). */
async function positionOf(api: Api, accountId: string, symbol: string): Promise<string> {
  const res = await api.get(`/v1/accounts/${accountId}/positions`);
  expect(res.status).toBe(200);
  const p = res.body.positions.find((x: any) => x.symbol === symbol);
  return p ? dec(p.quantity) : '0';
}

/** What the paper venue has on record for the gateway's order (its clientOrderId there is our order id). */
async function venueStatus(orderId: string): Promise<string | null> {
  const rows: { status: string }[] = await db.dataSource.query(
    `SELECT record->>'status' AS status FROM paper_venue_orders WHERE client_order_id = $1`,
    [orderId],
  );
  return rows[0]?.status ?? null;
}

describe('risk limits per account (GET|PUT /v1/accounts/{id}/risk-limits)', () => {
  it('records who changed them, when and why, in order; refuses a stale version, a trader and a bad body; never widens a loss limit under exposure; applies at once', async () => {
    const { id, trader, viewer } = await freshAccount('limits');
    const path = limitsPath(id);

    // Version 0: the configured defaults, every field present, readable by whoever sees the account.
    const v0 = await trader.get(path);
    expect(v0.status, JSON.stringify(v0.body)).toBe(200);
    expect(v0.body).toMatchObject({ accountId: id, version: 0, changedBy: 'configuration', changedAt: null });
    expect(Object.keys(v0.body.limits).sort()).toEqual([...LIMIT_FIELDS].sort());
    expect((await viewer.get(path)).body).toEqual(v0.body);
    const defaults = v0.body.limits;

    // A trader may not change them.
    const tightened = { ...defaults, maxOrderQuantity: '5', maxDailyLoss: '1000', maxPositionLoss: '500' };
    expectProblem(
      await putLimits(trader, id, { limits: tightened, reason: 'trader tries', version: 0 }),
      403,
      'auth.forbidden',
    );

    // A bad body: 422 validation.failed, and nothing changes.
    const { maxWorkingOrders: _left, ...missingOne } = defaults;
    const bad: [string, unknown][] = [
      ['an unknown limit', { limits: { ...defaults, maxOrderQty: '5' }, reason: 'typo' }],
      ['a limit left out', { limits: missingOne, reason: 'left out' }],
      ['a zero quantity', { limits: { ...defaults, maxOrderQuantity: '0' }, reason: 'zero' }],
      ['a JSON number for a decimal', { limits: { ...defaults, maxOrderNotional: 5000 }, reason: 'number' }],
      ['a negative loss limit', { limits: { ...defaults, maxDailyLoss: '-100' }, reason: 'negative' }],
      ['a cut-off over a day', { limits: { ...defaults, zeroDteCutoffMinutes: 1441 }, reason: 'too long' }],
      ['a fractional count', { limits: { ...defaults, maxWorkingOrders: 2.5 }, reason: 'fraction' }],
      ['no reason', { limits: defaults }],
      ['an unknown top-level field', { limits: defaults, reason: 'extra', force: true }],
    ];
    for (const [what, body] of bad) {
      const problem = expectProblem(await putLimits(risk, id, body), 422, 'validation.failed');
      expect(problem.errors, what).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: expect.any(String) })]),
      );
    }
    expect((await trader.get(path)).body, 'unchanged after the refusals').toEqual(v0.body);
    expect((await trader.get(`${path}/history`)).body.versions).toEqual([v0.body]);

    // Version 1, by the risk officer, with the reason given.
    const before = Date.now();
    const put1 = await putLimits(risk, id, {
      limits: tightened,
      reason: 'desk limits for the new account',
      version: 0,
    });
    const after = Date.now();
    expect(put1.status, JSON.stringify(put1.body)).toBe(200);
    expect(put1.body).toMatchObject({
      accountId: id,
      version: 1,
      limits: tightened,
      changedBy: RISK_SUBJECT,
      reason: 'desk limits for the new account',
    });
    const changedAt = Date.parse(put1.body.changedAt);
    expect(changedAt).toBeGreaterThanOrEqual(before - 5);
    expect(changedAt).toBeLessThanOrEqual(after + 5);
    expect((await trader.get(path)).body).toEqual(put1.body);

    // The next order is checked against them at once: 6 > 5 is denied.
    await placeDenied(
      trader,
      id,
      { clientOrderId: 'limits-qty-6', symbol: 'SPY', side: 'buy', quantity: '6', type: 'market' },
      'risk.max_quantity',
    );

    // A PUT against a version that is no longer current: 409, nothing changes.
    const stale = await putLimits(risk, id, {
      limits: { ...tightened, maxOrderQuantity: '7' },
      reason: 'based on version 0',
      version: 0,
    });
    expectProblem(stale, 409, 'risk_limits.version_conflict');
    expect((await trader.get(path)).body).toEqual(put1.body);

    // Flat, with nothing working: a loss limit may be widened.
    const v2 = await changeLimits(risk, id, { maxDailyLoss: '1500' }, 'more room for the first day');
    expect(v2).toMatchObject({ version: 2, changedBy: RISK_SUBJECT, limits: { ...tightened, maxDailyLoss: '1500' } });

    // Take a position: 5 (just inside the quantity limit) fills.
    const buy = await placeOk(trader, id, {
      clientOrderId: 'limits-qty-5',
      symbol: 'SPY',
      side: 'buy',
      quantity: '5',
      type: 'market',
    });
    await filled(trader, id, buy.id);
    expect(await positionOf(trader, id, 'SPY')).toBe('5');

    // With a position, widening or switching off either loss limit is refused and nothing changes.
    const widenings: [string, Record<string, unknown>][] = [
      ['maxDailyLoss', { maxDailyLoss: '2000' }],
      ['maxDailyLoss', { maxDailyLoss: null }],
      ['maxPositionLoss', { maxPositionLoss: '600' }],
      ['maxPositionLoss', { maxPositionLoss: null }],
    ];
    for (const [field, change] of widenings) {
      const res = await putLimits(risk, id, {
        limits: { ...v2.limits, ...change },
        reason: `widen ${field}`,
        version: 2,
      });
      const problem = expectProblem(res, 422, 'risk.loss_limit_widening');
      expect(problem.errors, JSON.stringify(change)).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: `limits.${field}` })]),
      );
      expect((await trader.get(path)).body, `unchanged after ${JSON.stringify(change)}`).toEqual(v2);
    }

    // Tightening both is accepted.
    const v3 = await changeLimits(
      risk,
      id,
      { maxDailyLoss: '1200', maxPositionLoss: '400' },
      'tighter after the first fill',
    );
    expect(v3.limits).toMatchObject({ maxDailyLoss: '1200', maxPositionLoss: '400', maxOrderQuantity: '5' });

    // History: newest first, version 0 last, each with who and why.
    const history = await trader.get(`${path}/history`);
    expect(history.status).toBe(200);
    expect(history.body.versions.map((v: any) => [v.version, v.changedBy, v.reason])).toEqual([
      [3, RISK_SUBJECT, 'tighter after the first fill'],
      [2, RISK_SUBJECT, 'more room for the first day'],
      [1, RISK_SUBJECT, 'desk limits for the new account'],
      [0, 'configuration', v0.body.reason],
    ]);
    expect(history.body.versions).toEqual([v3, v2, put1.body, v0.body]);
    const times = history.body.versions.slice(0, 3).map((v: any) => Date.parse(v.changedAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });
});

describe('order-to-trade ratio (GET /v1/accounts/{id}/order-to-trade)', () => {
  it('counts what was sent, and moves the account to reducing exactly when the ratio reaches the ceiling; then entries are blocked and exits pass', async () => {
    const { id, trader } = await freshAccount('otr');
    const CEILING = '8';
    await changeLimits(risk, id, { maxOrderToTradeRatio: CEILING }, 'OTR ceiling of the exchange');
    const today = newYorkToday();
    const bid = new D((await trader.get('/v1/quotes/SPY')).body.bid);

    // The test's own recount of what it sent and what traded.
    const sent = { orders: 0, modifications: 0, cancellations: 0, trades: 0 };
    const working: any[] = [];
    let n = 0;
    let position = 0;
    let reachedAt: number | null = null;

    const checkCounts = async (what: string) => {
      const otr = await trader.get(`/v1/accounts/${id}/order-to-trade`);
      expect(otr.status, JSON.stringify(otr.body)).toBe(200);
      expect(otr.body, what).toMatchObject({ accountId: id, tradingDay: today, ...sent, ceiling: CEILING });
      expect(otr.body.ratio, what).toMatch(/^\d+(\.\d{1,4})?$/);
      expect(
        new D(otr.body.ratio).minus(otrRatio(sent)).abs().lessThan('0.0001'),
        `${what}: ratio ${otr.body.ratio}`,
      ).toBe(true);
    };

    const steps = {
      market: async () => {
        const order = await placeOk(trader, id, {
          clientOrderId: `otr-${n++}`,
          symbol: 'SPY',
          side: 'buy',
          quantity: '1',
          type: 'market',
        });
        sent.orders++;
        const ratio = otrRatio(sent); // after the message, before its fill
        await filled(trader, id, order.id);
        position++;
        sent.trades = (await allExecutions(trader, id)).length;
        return ratio;
      },
      passive: async () => {
        const order = await placeOk(trader, id, {
          clientOrderId: `otr-${n++}`,
          symbol: 'SPY',
          side: 'buy',
          quantity: '1',
          type: 'limit',
          limitPrice: dec(bid.minus('0.50').minus(new D(n).dividedBy(100))),
        });
        sent.orders++;
        working.push(await orderWhen(trader, id, order.id, (o) => o.status === 'new', 'new'));
        return otrRatio(sent);
      },
      replace: async () => {
        const old = working.pop();
        const res = await trader.patch(`${ordersPath(id)}/${old.id}`, {
          clientOrderId: `otr-${n++}`,
          limitPrice: dec(new D(old.limitPrice).minus('0.01')),
        });
        expect(res.status, JSON.stringify(res.body)).toBe(202);
        sent.modifications++;
        await orderWhen(trader, id, old.id, (o) => o.status === 'replaced', 'replaced');
        working.push(await orderWhen(trader, id, res.body.id, (o) => o.status === 'new', 'new'));
        return otrRatio(sent);
      },
      cancel: async () => {
        const target = working.shift();
        const res = await trader.delete(`${ordersPath(id)}/${target.id}`);
        expect(res.status, JSON.stringify(res.body)).toBe(202);
        await orderWhen(trader, id, target.id, (o) => o.status === 'canceled', 'canceled');
        // Sent to the venue: the venue has it canceled.
        await eventually(async () => (await venueStatus(target.id)) === 'canceled', 5_000, 'the venue to cancel');
        sent.cancellations++;
        return otrRatio(sent);
      },
    };
    type Step = keyof typeof steps;
    // A day of churn: three fills, then passive orders placed, repriced and canceled.
    // With 4 fills, the 32nd message brings the ratio to 32 / 4 = 8.
    // prettier-ignore
    const script: Step[] = [
      'market', 'market', 'market', 'passive', 'passive', 'replace', 'cancel', 'passive', 'replace', 'cancel',
      'passive', 'replace', 'market', 'passive', 'passive', 'replace', 'cancel', 'replace', 'cancel', 'passive',
      'passive', 'replace', 'replace', 'cancel', 'cancel', 'passive', 'replace', 'replace', 'passive', 'replace',
      'cancel', 'passive',
    ];

    await checkCounts('before any order');
    for (const [i, step] of script.entries()) {
      const ratio = await steps[step]();
      const what = `step ${i} (${step}): ${JSON.stringify(sent)}, ratio after the message ${ratio.toFixed()}`;
      if (ratio.greaterThanOrEqualTo(CEILING)) {
        reachedAt = i;
      }
      await checkCounts(what);
      const account = (await trader.get(`/v1/accounts/${id}`)).body;
      expect(account.tradingState, what).toBe(reachedAt === null ? 'active' : 'reducing');
      if (reachedAt !== null) {
        break;
      }
    }
    expect(reachedAt, 'the ceiling is reached by the last message of the script').toBe(script.length - 1);

    // Reducing, by the gateway, because of the ratio.
    const account = (await trader.get(`/v1/accounts/${id}`)).body;
    expect(account).toMatchObject({ tradingState: 'reducing', entriesBlocked: true });
    expect(account.tradingStateReason).toMatch(/order-to-trade/i);
    const history = await trader.get(`/v1/accounts/${id}/trading-state/history`);
    expect(history.status, JSON.stringify(history.body)).toBe(200);
    expect(history.body.changes).toEqual([
      expect.objectContaining({
        previousState: 'active',
        state: 'reducing',
        source: 'order_to_trade_ratio',
        changedBy: 'gateway',
      }),
    ]);

    // A new entry is denied (and a denied order is not a message); an exit passes.
    await placeDenied(
      trader,
      id,
      {
        clientOrderId: `otr-${n++}`,
        symbol: 'SPY',
        side: 'buy',
        quantity: '1',
        type: 'limit',
        limitPrice: dec(bid.minus('0.50')),
      },
      'risk.entries_blocked',
    );
    await placeDenied(
      trader,
      id,
      { clientOrderId: `otr-${n++}`, symbol: 'SPY', side: 'buy', quantity: '1', type: 'market' },
      'risk.entries_blocked',
    );
    await checkCounts('after two denied entries');
    expect(position).toBeGreaterThan(0);
    const exit = await placeOk(trader, id, {
      clientOrderId: `otr-${n++}`,
      symbol: 'SPY',
      side: 'sell',
      quantity: '1',
      type: 'market',
    });
    sent.orders++;
    await filled(trader, id, exit.id);
    sent.trades = (await allExecutions(trader, id)).length;
    await checkCounts('after the exit');
    expect(await positionOf(trader, id, 'SPY')).toBe(String(position - 1));

    // The day asked for explicitly is the same; another day has nothing.
    const explicit = await trader.get(`/v1/accounts/${id}/order-to-trade?tradingDay=${today}`);
    expect(explicit.body).toMatchObject({ tradingDay: today, ...sent });
    const other = await trader.get(`/v1/accounts/${id}/order-to-trade?tradingDay=2000-01-03`);
    expect(other.body).toMatchObject({
      tradingDay: '2000-01-03',
      orders: 0,
      modifications: 0,
      cancellations: 0,
      trades: 0,
      ceiling: CEILING,
    });
    expect(new D(other.body.ratio).isZero()).toBe(true);

    // Risk staff bring it back.
    expectProblem(
      await trader.request('PUT', `/v1/accounts/${id}/trading-state`, { state: 'active', reason: 'trader' }),
      403,
      'auth.forbidden',
    );
    const back = await risk.request('PUT', `/v1/accounts/${id}/trading-state`, {
      state: 'active',
      reason: 'churn reviewed with the desk',
    });
    expect(back.status, JSON.stringify(back.body)).toBeLessThan(300);
    expect((await trader.get(`/v1/accounts/${id}`)).body).toMatchObject({ tradingState: 'active' });
    const after = (await trader.get(`/v1/accounts/${id}/trading-state/history`)).body.changes;
    expect(after).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ source: 'order_to_trade_ratio', state: 'reducing', changedBy: 'gateway' }),
        expect.objectContaining({
          previousState: 'reducing',
          state: 'active',
          changedBy: RISK_SUBJECT,
          reason: 'churn reviewed with the desk',
        }),
      ]),
    );
    expect(after).toHaveLength(2);
  });
});

describe('SPXW 0DTE options', () => {
  const P3800 = 'SPXW  210104P03800000';
  const P3700 = 'SPXW  210104P03700000';
  const P3800_JAN6 = 'SPXW  210106P03800000';

  it('holds prices to the tick grid, values the notional × 100, and refuses openings after the 0DTE cut-off while closings pass', async () => {
    const { id, trader } = await freshAccount('spxw');
    const at = parseTime(OPTIONS_AT);
    await stepReplay(admin, OPTIONS_AT);
    const q3800 = quoteAt(
      loadOptionQuotes({ date: '20210104', right: 'P', strikeUsd: '3800', expiry: '20210104' }),
      at,
    )!;
    const q3700 = quoteAt(
      loadOptionQuotes({ date: '20210104', right: 'P', strikeUsd: '3700', expiry: '20210104' }),
      at,
    )!;
    // The 3800 put trades above 3.00 (0.10 ticks), the 3700 put below (0.05 ticks); the buys below rest.
    expect(q3800.bid.greaterThan(3) && q3800.ask.greaterThan('33.30')).toBe(true);
    expect(q3700.ask.lessThan(3)).toBe(true);
    expect(q3700.bid.lessThanOrEqualTo('0.40') && q3700.ask.greaterThan('0.40')).toBe(true);

    // 2 contracts at 33.20 are 6 640 USD, at 33.30 6 660 USD (× 100). The 0.10 absolute collar keeps a
    // cheap put's collar wider than its tick.
    await changeLimits(
      risk,
      id,
      { maxOrderNotional: '6650', priceCollarAbsolute: '0.10' },
      'option desk: notional and collar floor',
    );
    const limitBuy = (clientOrderId: string, symbol: string, quantity: string, limitPrice: string) => ({
      clientOrderId,
      symbol,
      side: 'buy',
      quantity,
      type: 'limit',
      limitPrice,
    });

    // Tick grid: 0.10 at and above 3.00, 0.05 below; SPY shares 0.01; stops too.
    await placeDenied(trader, id, limitBuy('tick-1', P3800, '1', '33.05'), 'risk.tick_size');
    await placeDenied(trader, id, limitBuy('tick-2', P3700, '1', '0.37'), 'risk.tick_size');
    await placeDenied(
      trader,
      id,
      limitBuy('tick-3', 'SPY', '1', dec(new D((await trader.get('/v1/quotes/SPY')).body.bid).minus('0.005'))),
      'risk.tick_size',
    );
    await placeDenied(
      trader,
      id,
      { clientOrderId: 'tick-4', symbol: P3800, side: 'sell', quantity: '1', type: 'stop', stopPrice: '30.05' },
      'risk.tick_size',
    );
    const onGrid1 = await placeOk(trader, id, limitBuy('tick-ok-1', P3800, '1', '33.00'));
    const onGrid2 = await placeOk(trader, id, limitBuy('tick-ok-2', P3700, '1', '0.40'));
    expect([onGrid1.symbol, onGrid2.symbol]).toEqual([P3800, P3700]);

    // Notional with the multiplier: just inside, just outside.
    await placeOk(trader, id, limitBuy('notional-in', P3800, '2', '33.20'));
    const over = await placeDenied(trader, id, limitBuy('notional-out', P3800, '2', '33.30'), 'risk.max_notional');
    expect(String(over.detail ?? '')).toContain('6660');

    // Cancel what works, then take a position while the cut-off has not passed.
    const cancelAll = await trader.delete(ordersPath(id));
    expect(cancelAll.status, JSON.stringify(cancelAll.body)).toBe(202);
    await eventually(
      async () => (await allOrders(trader, id)).every((o) => !OPEN_STATUSES.includes(o.status)),
      10_000,
      'every order canceled',
    );
    const open = await placeOk(trader, id, {
      clientOrderId: 'open-1',
      symbol: P3800,
      side: 'buy',
      quantity: '1',
      type: 'market',
    });
    expect((await filled(trader, id, open.id)).averageFillPrice).toBe(dec(q3800.ask));
    expect(await positionOf(trader, id, P3800)).toBe('1');

    // 09:31 is 389 minutes before the 16:00 end of trading of an expiring SPXW: a 480-minute cut-off has passed.
    expect(parseTime('16:00:00') - at).toBeLessThan(480 * 60_000);
    await changeLimits(risk, id, { zeroDteCutoffMinutes: 480 }, '0DTE: no new openings');

    // Openings in options expiring today are refused, buy or sell to open.
    await placeDenied(trader, id, limitBuy('cutoff-buy', P3800, '1', '33.00'), 'risk.opening_cutoff');
    await placeDenied(
      trader,
      id,
      { clientOrderId: 'cutoff-market', symbol: P3800, side: 'buy', quantity: '1', type: 'market' },
      'risk.opening_cutoff',
    );
    await placeDenied(
      trader,
      id,
      {
        clientOrderId: 'cutoff-sell-open',
        symbol: P3700,
        side: 'sell',
        quantity: '1',
        type: 'limit',
        limitPrice: '0.45',
      },
      'risk.opening_cutoff',
    );
    // An option expiring on another day is not 0DTE.
    await placeOk(trader, id, limitBuy('jan6', P3800_JAN6, '1', '43.00'));

    // The closing sell of the held contract passes and fills at the bid; once flat, a sell would open.
    const close = await placeOk(trader, id, {
      clientOrderId: 'close-1',
      symbol: P3800,
      side: 'sell',
      quantity: '1',
      type: 'market',
    });
    expect((await filled(trader, id, close.id)).averageFillPrice).toBe(dec(q3800.bid));
    expect(await positionOf(trader, id, P3800)).toBe('0');
    await placeDenied(
      trader,
      id,
      { clientOrderId: 'cutoff-after-flat', symbol: P3800, side: 'sell', quantity: '1', type: 'market' },
      'risk.opening_cutoff',
    );
  });
});

describe('position and working-order limits under racing clients', () => {
  const MAX_POSITION = 30;
  const MAX_WORKING = 8;
  /** Bought before the race (5 × 5), so that the race works at the position limit. */
  const WARM_UP = 25;
  const CLIENTS = 8;
  const TRAFFIC_MS = 3_000;
  const DENIALS = ['risk.max_position', 'risk.max_working_orders'];

  it('never lets the worst-case position or the working orders past the limits set by PUT', async () => {
    const { id, trader } = await freshAccount('race');
    await changeLimits(
      risk,
      id,
      { maxPositionQuantity: String(MAX_POSITION), maxWorkingOrders: MAX_WORKING },
      'racing clients',
    );
    console.log(`risk-controls racing test: RISK_SEED=${SEED}`);
    const rng = new SeededRandom(SEED);
    const quote = (await trader.get('/v1/quotes/SPY')).body;
    const bid = new D(quote.bid);
    const ask = new D(quote.ask);
    const path = ordersPath(id);
    const answers: { op: string; key: string }[] = [];
    const unexpected: string[] = [];

    const send = async (op: string, method: string, p: string, body: unknown, ok: readonly string[]) => {
      const res = await attempt(gw.url, trader.token!, method, p, body);
      const key =
        res.kind === 'failed' ? `failed ${res.reason}` : `${res.status}${res.body?.code ? ` ${res.body.code}` : ''}`;
      answers.push({ op, key });
      if (!ok.includes(key)) {
        unexpected.push(`${op} ${method} ${p} ${JSON.stringify(body)}: ${key} ${JSON.stringify((res as any).body)}`);
      }
      return res.kind === 'answered' ? res : null;
    };
    const placed = ['201', ...DENIALS.map((d) => `422 ${d}`)];

    for (let i = 0; i < WARM_UP / 5; i++) {
      const warm = await placeOk(trader, id, {
        clientOrderId: `race-${SEED}-warm-${i}`,
        symbol: 'SPY',
        side: 'buy',
        quantity: '5',
        type: 'market',
      });
      await filled(trader, id, warm.id);
    }

    // Passive orders working, shared by every client so that any of them may cancel one and free a slot.
    const resting: string[] = [];
    const started = Date.now();
    const client = async (c: number) => {
      const own = rng.fork(c);
      for (let i = 0; Date.now() - started < TRAFFIC_MS; i++) {
        const r = own.next();
        const clientOrderId = `race-${SEED}-${c}-${i}`;
        const quantity = String(own.int(1, 5));
        if (r < 0.3) {
          await send(
            'market buy',
            'POST',
            path,
            { clientOrderId, symbol: 'SPY', side: 'buy', quantity, type: 'market' },
            placed,
          );
        } else if (r < 0.4) {
          await send(
            'market sell',
            'POST',
            path,
            { clientOrderId, symbol: 'SPY', side: 'sell', quantity, type: 'market' },
            placed,
          );
        } else if (r < 0.75 || resting.length === 0) {
          const side = own.chance(0.5) ? 'buy' : 'sell';
          const away = new D(own.int(5, 50)).dividedBy(100);
          const limitPrice = dec(side === 'buy' ? bid.minus(away) : ask.plus(away));
          const res = await send(
            `passive ${side}`,
            'POST',
            path,
            { clientOrderId, symbol: 'SPY', side, quantity, type: 'limit', limitPrice },
            placed,
          );
          if (res?.status === 201) {
            resting.push(res.body.id);
          }
        } else {
          const [target] = resting.splice(own.int(0, resting.length - 1), 1);
          await send('cancel', 'DELETE', `${path}/${target}`, undefined, ['202', '422 order.not_cancelable']);
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    const trafficMs = Date.now() - started;

    // Quiescence: nothing uncertain and no new event for a while (the replay is paused: passives rest).
    let last = -1;
    await eventually(
      async () => {
        const orders = await allOrders(trader, id);
        const count = (await allEvents(trader, id)).length;
        const quiet = count === last;
        last = count;
        return quiet && orders.every((o) => !UNCERTAIN_STATUSES.includes(o.status));
      },
      15_000,
      'every order to settle',
    ).catch(() => undefined);
    const orders = await allOrders(trader, id);
    const events = await allEvents(trader, id);
    const executions = await allExecutions(trader, id);

    // Replay the events: after each, the position, the worst case with every working order filled on
    // either side, and the number of working orders.
    const state = new Map<string, { side: string; status: string; leaves: D }>();
    let position = new D(0);
    let maxWorstCase = new D(0);
    let maxWorking = 0;
    const breaches: string[] = [];
    for (const [i, e] of events.entries()) {
      if (e.execution) {
        position = position.plus(signed(e.order.side, e.execution.quantity));
      }
      state.set(e.order.id, { side: e.order.side, status: e.order.status, leaves: new D(e.order.leavesQuantity) });
      // A replace's pair of events (the replacement's pending_new, then the old order's pending_replace):
      // count after the pair. This test sends no replaces; kept so the count stays right if it ever does.
      if (e.order.replacesOrderId && e.event === 'pending_new' && events[i + 1]?.order.id === e.order.replacesOrderId) {
        continue;
      }
      const open = [...state.values()].filter(
        (o) => OPEN_STATUSES.includes(o.status) && o.status !== 'pending_replace',
      );
      const buys = open.filter((o) => o.side === 'buy').reduce((s, o) => s.plus(o.leaves), new D(0));
      const sells = open.filter((o) => o.side === 'sell').reduce((s, o) => s.plus(o.leaves), new D(0));
      const worstLong = position.plus(buys);
      const worstShort = position.minus(sells);
      maxWorstCase = D.max(maxWorstCase, worstLong.abs(), worstShort.abs());
      maxWorking = Math.max(maxWorking, open.length);
      if (worstLong.greaterThan(MAX_POSITION) || worstShort.lessThan(-MAX_POSITION)) {
        breaches.push(
          `after seq ${e.seq}: position ${position.toFixed()}, working buys ${buys.toFixed()}, sells ${sells.toFixed()}`,
        );
      }
      if (open.length > MAX_WORKING) {
        breaches.push(`after seq ${e.seq}: ${open.length} working orders`);
      }
    }

    console.log(
      [
        `risk-controls racing report (RISK_SEED=${SEED})`,
        `  requests ${answers.length} by ${CLIENTS} clients in ${trafficMs} ms`,
        ...Object.entries(countBy(answers, (x) => x.op)).map(
          ([op, count]) =>
            `    ${op} ×${count}: ${JSON.stringify(
              countBy(
                answers.filter((x) => x.op === op),
                (x) => x.key,
              ),
            )}`,
        ),
        `  orders ${orders.length} ${JSON.stringify(countBy(orders, (o) => o.status))}, events ${events.length}, executions ${executions.length}`,
        `  max worst-case |position| ${maxWorstCase.toFixed()} (limit ${MAX_POSITION}), max working ${maxWorking} (limit ${MAX_WORKING}); final position ${position.toFixed()}`,
      ].join('\n'),
    );

    expect(unexpected, 'unexpected answers').toEqual([]);
    expect(
      orders.filter((o) => UNCERTAIN_STATUSES.includes(o.status)).map((o) => `${o.id} ${o.status}`),
      'orders still uncertain',
    ).toEqual([]);
    expect(breaches, 'limits exceeded at some point of the event sequence').toEqual([]);
    // Both limits were reached and denied something.
    const denials = [...new Set(answers.map((a) => a.key).filter((k) => k.startsWith('422 risk.')))].sort();
    expect(denials).toEqual(DENIALS.map((d) => `422 ${d}`));
    // The replay agrees with what the gateway shows now.
    expect(await positionOf(trader, id, 'SPY')).toBe(position.toFixed());
    expect(events.filter((e) => e.execution).length).toBe(executions.length);
    const openNow = orders.filter((o) => OPEN_STATUSES.includes(o.status));
    expect(openNow.length).toBe([...state.values()].filter((o) => OPEN_STATUSES.includes(o.status)).length);
    expect(openNow.length).toBeLessThanOrEqual(MAX_WORKING);
  }, 45_000);
});

describe('re-arming after a kill switch', () => {
  it('returns an account to the state it had before the halt, and a further re-arm to active; all recorded', async () => {
    const { id, trader } = await freshAccount('rearm');
    const state = async () => (await trader.get(`/v1/accounts/${id}`)).body;
    const put = await risk.request('PUT', `/v1/accounts/${id}/trading-state`, {
      state: 'reducing',
      reason: 'wind down',
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const halt = await risk.post('/v1/kill-switch', { scope: 'account', accountId: id, reason: 'desk incident' });
    expect(halt.status, JSON.stringify(halt.body)).toBe(202);
    expect(await state()).toMatchObject({ tradingState: 'halted', entriesBlocked: true });

    const rearm = await risk.request('DELETE', '/v1/kill-switch', {
      scope: 'account',
      accountId: id,
      reason: 'incident over',
    });
    expect(rearm.status, JSON.stringify(rearm.body)).toBe(200);
    // Not active: the account was reducing before the halt, and a re-arm restores that.
    expect(rearm.body).toMatchObject({ scope: 'account', accountId: id, state: 'reducing', reason: 'incident over' });
    expect(await state()).toMatchObject({ tradingState: 'reducing' });

    const again = await risk.request('DELETE', '/v1/kill-switch', {
      scope: 'account',
      accountId: id,
      reason: 'resume',
    });
    expect(again.body).toMatchObject({ state: 'active' });
    expect(await state()).toMatchObject({ tradingState: 'active', entriesBlocked: false });

    const history = (await trader.get(`/v1/accounts/${id}/trading-state/history`)).body.changes;
    expect(history.map((c: any) => [c.source, c.previousState, c.state, c.reason, c.changedBy])).toEqual([
      ['rearm', 'reducing', 'active', 'resume', RISK_SUBJECT],
      ['rearm', 'halted', 'reducing', 'incident over', RISK_SUBJECT],
      ['kill_switch', 'reducing', 'halted', 'desk incident', RISK_SUBJECT],
      ['trading_state', 'active', 'reducing', 'wind down', RISK_SUBJECT],
    ]);
  });
});

describe('loss limits after a day of trading, and the kill switch’s own messages', () => {
  it('refuses to widen the daily loss limit of a flat account that has traded today; the position limit may be', async () => {
    const { id, trader } = await freshAccount('flat-after-loss');
    await changeLimits(risk, id, { maxDailyLoss: '1000', maxPositionLoss: '500' }, 'first day');
    const bought = await placeOk(trader, id, {
      clientOrderId: 'in',
      symbol: 'SPY',
      side: 'buy',
      quantity: '1',
      type: 'market',
    });
    await filled(trader, id, bought.id);
    const sold = await placeOk(trader, id, {
      clientOrderId: 'out',
      symbol: 'SPY',
      side: 'sell',
      quantity: '1',
      type: 'market',
    });
    await filled(trader, id, sold.id);
    expect(await positionOf(trader, id, 'SPY')).toBe('0');

    const current = (await risk.get(limitsPath(id))).body;
    const widen = await putLimits(risk, id, {
      limits: { ...current.limits, maxDailyLoss: '5000' },
      reason: 'after the loss',
      version: current.version,
    });
    const problem = expectProblem(widen, 422, 'risk.loss_limit_widening');
    expect(problem.detail).toContain('executions today');
    expect((await risk.get(limitsPath(id))).body.version).toBe(current.version);
    // Flat with nothing working, the per-position limit may be widened for the next entry.
    const positionLimit = await changeLimits(risk, id, { maxPositionLoss: '800' }, 'next entry');
    expect(positionLimit.limits).toMatchObject({ maxPositionLoss: '800', maxDailyLoss: '1000' });
  });

  it('does not count the kill switch’s cancels in the order-to-trade ratio, nor let them make the account reducing', async () => {
    const { id, trader } = await freshAccount('otr-halt');
    // Three orders and no trade give a ratio of 3; three more messages would reach the ceiling of 6.
    await changeLimits(risk, id, { maxOrderToTradeRatio: '6' }, 'tight ratio');
    const bid = new D((await trader.get('/v1/quotes/SPY')).body.bid);
    const resting = [];
    for (const n of [1, 2, 3]) {
      resting.push(
        await placeOk(trader, id, {
          clientOrderId: `rest-${n}`,
          symbol: 'SPY',
          side: 'buy',
          quantity: '1',
          type: 'limit',
          limitPrice: dec(bid.minus('1')),
        }),
      );
    }
    const halt = await risk.post('/v1/kill-switch', { scope: 'account', accountId: id, reason: 'test halt' });
    expect(halt.status).toBe(202);
    for (const o of resting) {
      await orderWhen(trader, id, o.id, (x) => x.status === 'canceled', 'canceled by the kill switch');
    }
    const otr = (await trader.get(`/v1/accounts/${id}/order-to-trade`)).body;
    expect(otr).toMatchObject({ orders: 3, modifications: 0, cancellations: 0, trades: 0, ratio: '3' });
    const rearm = await risk.request('DELETE', '/v1/kill-switch', { scope: 'account', accountId: id, reason: 'over' });
    expect(rearm.body).toMatchObject({ state: 'active' });
    expect((await trader.get(`/v1/accounts/${id}`)).body.tradingState).toBe('active');
  });
});
