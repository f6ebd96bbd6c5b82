import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { allEvents, expectConsecutive, expectProblem, orderWhen } from '../support/e2e.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually } from '../support/http.js';
import { D } from '../support/market-data.js';
import { StreamClient } from '../support/stream-client.js';
import { startVenueProcess, type VenueProcess } from '../support/venue-process.js';

/**
 * Unknown orders and reconciliation (README) against a broker that misbehaves at its own protocol: the fake broker (the paper venue over
 * HTTP, apps/paper-venue) as its own process, with faults switched on per order or per symbol, and the
 * gateway talking to it over HTTP (PAPER_VENUE_URL). Every outcome is checked at the venue too (what it
 * really received) and in the account's events (gapless seq, over REST and the WebSocket stream).
 */
const SUBMIT_TIMEOUT_MS = 400;
let db: TestDatabase;
let venue: VenueProcess;
let gw: GatewayProcess;
let api: Api;
let accountId: string;
let stream: StreamClient;
let bid: InstanceType<typeof D>;
let ask: InstanceType<typeof D>;

const ORDERS = () => `/v1/accounts/${accountId}/orders`;
const order = (clientOrderId: string, extra: Record<string, unknown> = {}) => ({
  clientOrderId,
  symbol: 'SPY',
  side: 'buy',
  quantity: '10',
  type: 'limit',
  limitPrice: bid.minus('0.50').toFixed(2), // passive: rests at the paused venue
  ...extra,
});
const marketable = (clientOrderId: string, extra: Record<string, unknown> = {}) =>
  order(clientOrderId, { limitPrice: ask.plus('0.05').toFixed(2), ...extra });

const receivedCount = async (orderId: string) =>
  (await venue.received()).filter((c: any) => c.clientOrderId === orderId).length;
const eventsOf = async (orderId: string) =>
  (await allEvents(api, accountId)).filter((e) => e.order.id === orderId).map((e) => e.event);
const position = async (): Promise<string> => {
  const res = await api.get(`/v1/accounts/${accountId}/positions`);
  return res.body.positions.find((p: any) => p.symbol === 'SPY')?.quantity ?? '0';
};
const executionsOf = async (orderId: string) =>
  (await api.get(`/v1/accounts/${accountId}/executions?limit=1000`)).body.executions.filter(
    (e: any) => e.orderId === orderId,
  );
const venueFillsOf = async (orderId: string) =>
  (await venue.call('GET', '/v1/fills?since=0')).body.filter((f: any) => f.clientOrderId === orderId);
async function placeWorking(clientOrderId: string, extra: Record<string, unknown> = {}): Promise<any> {
  const res = await api.post(ORDERS(), order(clientOrderId, extra));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.status).toBe('new');
  return res.body;
}

beforeAll(async () => {
  db = await createTestDatabase();
  venue = await startVenueProcess({ PAPER_START_TIME: '09:30:05' });
  gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    PAPER_START_TIME: '09:30:05',
    PAPER_VENUE_URL: venue.url,
    BROKER_SUBMIT_TIMEOUT_MS: String(SUBMIT_TIMEOUT_MS),
    RECONCILE_MISSING_AFTER_MS: '2500',
  });
  api = new Api(gw.url, gw.traderToken);
  accountId = gw.accountId;
  const quote = (await api.get('/v1/quotes/SPY')).body;
  bid = new D(quote.bid);
  ask = new D(quote.ask);
  stream = await StreamClient.connect(gw.url);
  stream.send({ op: 'auth', token: gw.traderToken });
  await stream.waitFor((m) => m.type === 'authenticated');
  stream.send({ op: 'subscribe', channel: 'orders', accountId, fromSeq: 0 });
  await stream.waitFor((m) => m.type === 'subscribed');
});
afterAll(async () => {
  stream?.socket.close();
  await gw?.stop('SIGKILL');
  await venue?.stop();
  await db?.drop();
});

describe('an acknowledgement delayed past the submit timeout', () => {
  it('yields unknown, is never resent, blocks entries in the symbol but not a reduce-only exit, then settles', async () => {
    const entry = await api.post(ORDERS(), marketable('position-10'));
    expect(entry.status).toBe(201);
    await orderWhen(api, accountId, entry.body.id, (o) => o.status === 'filled');
    expect(await position()).toBe('10');

    await venue.addFault({ kind: 'ack_delay', delayMs: 1500, match: { symbol: 'SPY' }, remaining: 1 });
    const slow = await api.post(ORDERS(), order('slow'));
    expect(slow.status).toBe(201);
    expect(slow.body.status).toBe('unknown');

    const blocked = expectProblem(await api.post(ORDERS(), order('blocked-entry')), 422, 'risk.entries_blocked');
    expect(blocked.detail).toContain(slow.body.id);
    // An exit, sized against the confirmed position (10), is still accepted; more than it is not.
    const exit = await api.post(
      ORDERS(),
      order('exit-4', { side: 'sell', quantity: '4', positionEffect: 'close', limitPrice: bid.toFixed(2) }),
    );
    expect(exit.status, JSON.stringify(exit.body)).toBe(201);
    await orderWhen(api, accountId, exit.body.id, (o) => o.status === 'filled');
    expect(await position()).toBe('6');
    expect(
      (await api.post(ORDERS(), order('exit-7', { side: 'sell', quantity: '7', positionEffect: 'close' }))).status,
    ).toBe(422);

    // The venue acts after 1.5 s; reconciliation finds the order there and settles it to the venue's truth.
    const settled = await orderWhen(api, accountId, slow.body.id, (o) => o.status === 'new', 'settlement');
    expect(settled.brokerOrderId).not.toBeNull();
    expect(await receivedCount(slow.body.id), 'never resubmitted').toBe(1);
    expect(await eventsOf(slow.body.id)).toEqual(['pending_new', 'unknown', 'new']);
    const account = await eventually(
      async () => {
        const a = (await api.get(`/v1/accounts/${accountId}`)).body;
        return a.entriesBlocked ? null : a;
      },
      10_000,
      'entries unblocked',
    );
    expect(account.entriesBlockedReason).toBeNull();
    expect((await api.post(ORDERS(), order('after-settlement'))).status).toBe(201);
  });
});

describe('answers that leave the outcome unknown', () => {
  it.each([
    ['ack_lost', 'new', 1],
    ['error_after_accept', 'new', 1],
    ['accepted_without_id', 'new', 1],
    ['connection_reset', 'rejected', 0],
  ])('%s: unknown, then settled from the venue (%s), received %i time(s)', async (kind, settledAs, received) => {
    await venue.addFault({ kind, match: { symbol: 'SPY' }, remaining: 1 });
    const placed = await api.post(ORDERS(), order(`fault-${kind}`));
    expect(placed.status).toBe(201);
    // Unknown, unless the venue's own `new` report (it did act) was recorded before the bad answer was.
    expect(['unknown', ...(received === 1 ? ['new'] : [])]).toContain(placed.body.status);
    const settled = await orderWhen(api, accountId, placed.body.id, (o) => o.status === settledAs, 'settlement');
    if (settledAs === 'rejected') {
      expect(settled.rejectReason.code).toBe('not_submitted');
    }
    expect(await receivedCount(placed.body.id)).toBe(received);
  });
});

describe('execution reports the venue duplicates or reorders', () => {
  it('applies a duplicated fill once, and a fill before its acknowledgement once', async () => {
    const before = new D(await position());
    await venue.addFault({ kind: 'duplicate_reports', match: { symbol: 'SPY' } });
    await venue.addFault({ kind: 'fill_before_ack', match: { symbol: 'SPY' }, remaining: 1 });
    const placed = await api.post(ORDERS(), marketable('dup-and-reorder', { quantity: '3' }));
    expect(placed.status).toBe(201);
    const filled = await orderWhen(api, accountId, placed.body.id, (o) => o.status === 'filled');
    // Let the duplicates arrive, then check nothing changed the second time.
    await eventually(
      async () =>
        (await venue.call('GET', '/v1/test/fired-faults')).body.filter((f: any) => f.kind === 'duplicate_reports')
          .length >= 2,
      5_000,
      'duplicated reports',
    );
    await venue.clearFaults();
    await orderWhen(api, accountId, placed.body.id, (o) => o.lastSeq === filled.lastSeq);
    const executions = await executionsOf(placed.body.id);
    const fills = await venueFillsOf(placed.body.id);
    expect(executions.map((e: any) => e.brokerExecutionId).sort()).toEqual(
      fills.map((f: any) => f.brokerExecutionId).sort(),
    );
    expect(filled.filledQuantity).toBe('3');
    expect(await position()).toBe(before.plus(3).toFixed());
    const events = await eventsOf(placed.body.id);
    expect(events.filter((e) => e === 'filled')).toHaveLength(1);
    expect(events[0]).toBe('pending_new');
  });
});

describe('fills racing a cancel', () => {
  it('applies a late fill after a confirmed cancel: filled quantity, position and an event', async () => {
    const before = new D(await position());
    const working = await placeWorking('late-fill');
    await venue.addFault({ kind: 'late_fill_after_cancel', match: { clientOrderId: working.id }, quantity: '3' });
    expect((await api.delete(`${ORDERS()}/${working.id}`)).status).toBe(202);
    const after = await orderWhen(
      api,
      accountId,
      working.id,
      (o) => o.status === 'canceled' && o.filledQuantity === '3',
      'the late fill',
    );
    expect(after.leavesQuantity).toBe('0');
    expect(await position()).toBe(before.plus(3).toFixed());
    expect(await eventsOf(working.id)).toEqual([
      'pending_new',
      'new',
      'pending_cancel',
      'canceled',
      'partially_filled',
    ]);
  });

  it('ends a partial fill during a pending cancel canceled, with the partial quantity filled', async () => {
    const working = await placeWorking('fill-during-cancel');
    await venue.addFault({ kind: 'fill_during_pending_cancel', match: { clientOrderId: working.id }, quantity: '4' });
    expect((await api.delete(`${ORDERS()}/${working.id}`)).status).toBe(202);
    const after = await orderWhen(api, accountId, working.id, (o) => o.status === 'canceled');
    expect(after.filledQuantity).toBe('4');
    expect(await eventsOf(working.id)).toEqual([
      'pending_new',
      'new',
      'pending_cancel',
      'partially_filled',
      'canceled',
    ]);
    expect((await executionsOf(working.id)).map((e: any) => e.quantity)).toEqual(['4']);
  });
});

describe('replace', () => {
  it('after a partial fill: checked against the confirmed fill, with lineage over REST and in events', async () => {
    const working = await placeWorking('to-replace');
    expect((await venue.call('POST', `/v1/test/orders/${working.id}/fill`, { quantity: '3' })).status).toBe(200);
    await orderWhen(api, accountId, working.id, (o) => o.status === 'partially_filled' && o.filledQuantity === '3');

    const tooSmall = await api.patch(`${ORDERS()}/${working.id}`, { clientOrderId: 'r-too-small', quantity: '3' });
    expectProblem(tooSmall, 422, 'order.not_replaceable');

    const newLimit = bid.minus('0.40').toFixed(2);
    const res = await api.patch(`${ORDERS()}/${working.id}`, {
      clientOrderId: 'r-1',
      quantity: '8',
      limitPrice: newLimit,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const replacement = res.body;
    expect(replacement).toMatchObject({
      replacesOrderId: working.id,
      quantity: '5', // the new total 8 minus the 3 already filled
      limitPrice: newLimit,
      status: 'new',
      clientOrderId: 'r-1',
    });
    const old = await orderWhen(api, accountId, working.id, (o) => o.status === 'replaced');
    expect(old.replacedByOrderId).toBe(replacement.id);
    expect(old.filledQuantity).toBe('3');
    const again = await api.patch(`${ORDERS()}/${working.id}`, { clientOrderId: 'r-2', quantity: '9' });
    expectProblem(again, 422, 'order.not_replaceable');
    const retry = await api.patch(`${ORDERS()}/${working.id}`, {
      clientOrderId: 'r-1',
      quantity: '8',
      limitPrice: newLimit,
    });
    expect(retry.status, 'the same replace again answers the same replacement').toBe(200);
    expect(retry.body.id).toBe(replacement.id);

    const events = (await allEvents(api, accountId)).filter((e) => [working.id, replacement.id].includes(e.order.id));
    expect(events.map((e) => `${e.order.id === working.id ? 'old' : 'new'}:${e.event}`)).toEqual([
      'old:pending_new',
      'old:new',
      'old:partially_filled',
      'new:pending_new',
      'old:pending_replace',
      'old:replaced',
      'new:new',
    ]);
    const received = (await venue.call('GET', '/v1/test/received-replaces')).body;
    expect(received.filter((r: any) => r.clientOrderId === working.id)).toHaveLength(1);
  });

  it('rejected by the venue because the order filled: the order stays filled, the replacement is rejected', async () => {
    const working = await placeWorking('filled-before-replace');
    await venue.addFault({ kind: 'replace_rejected_filled', match: { clientOrderId: working.id } });
    const res = await api.patch(`${ORDERS()}/${working.id}`, { clientOrderId: 'r-filled', quantity: '12' });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('rejected');
    expect(res.body.replacesOrderId).toBe(working.id);
    const old = await orderWhen(api, accountId, working.id, (o) => o.status === 'filled');
    expect(old.filledQuantity).toBe('10');
    expect(old.replacedByOrderId).toBeNull();
  });

  it('accepts nothing more while a cancel is pending', async () => {
    const working = await placeWorking('cancel-pending');
    await venue.addFault({ kind: 'ack_delay', delayMs: 1200, match: { clientOrderId: working.id }, remaining: 1 });
    const cancel = await api.delete(`${ORDERS()}/${working.id}`);
    expect(cancel.status).toBe(202);
    expect(cancel.body.status).toBe('pending_cancel');
    expectProblem(
      await api.patch(`${ORDERS()}/${working.id}`, { clientOrderId: 'r-while-cancel', quantity: '5' }),
      422,
      'order.not_replaceable',
    );
    await orderWhen(api, accountId, working.id, (o) => o.status === 'canceled');
  });
});

describe('the record', () => {
  it('shows every transition with gapless seq, over GET /events and on the stream', async () => {
    const events = await allEvents(api, accountId);
    expect(events.length).toBeGreaterThan(30);
    expectConsecutive(events, 1);
    const last = events[events.length - 1].seq;
    await stream.waitFor((m) => m.type === 'order' && m.seq === last);
    const streamed = stream.messages.filter((m) => m.type === 'order');
    expect(streamed.map((m) => m.seq)).toEqual(events.map((e) => e.seq));
    expect(streamed.map((m) => `${m.order.id}:${m.event}`)).toEqual(events.map((e) => `${e.order.id}:${e.event}`));
  });
});
