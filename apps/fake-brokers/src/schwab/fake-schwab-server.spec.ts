import { fileURLToPath } from 'node:url';
import {
  MarketReplay,
  PaperVenue,
  defaultMarketDataSets,
  loadMarketData,
  resolveMarketDataDir,
} from '@gateway/brokers';
import { Decimal } from '@gateway/oms';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type FakeSchwabServer, startFakeSchwab } from './fake-schwab-server.js';

const data = loadMarketData(
  resolveMarketDataDir(fileURLToPath(new URL('../../../../', import.meta.url))),
  defaultMarketDataSets(),
);
const TOKEN = 'I0.fake-spec-token';
const OPTION = 'SPXW  210104C03700000';
const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) {
    await thing.close();
  }
});

async function fake(
  clock?: { now(): number },
  ackLatencyMs = 0,
): Promise<{ server: FakeSchwabServer; replay: MarketReplay; venue: PaperVenue }> {
  const replay = new MarketReplay({ data, paused: true, startTime: '09:31:00' });
  const venue = new PaperVenue(replay, { ackLatencyMs, ...(clock ? { clock } : {}) });
  const server = await startFakeSchwab({
    venue,
    replay,
    isAccessTokenValid: (t) => t === TOKEN,
    heartbeatMs: 50,
    quoteIntervalMs: 20,
  });
  open.push({ close: () => venue.exchange.close() }, server);
  return { server, replay, venue };
}

/** A streamer connection that keeps every message it got. */
async function streamer(
  url: string,
): Promise<{ ws: WebSocket; messages: any[]; next(p: (m: any) => boolean): Promise<any> }> {
  const ws = new WebSocket(url);
  const messages: any[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(String(d))));
  await new Promise((r) => ws.once('open', r));
  open.push({ close: () => ws.terminate() });
  const next = async (p: (m: any) => boolean) => {
    const end = Date.now() + 3_000;
    for (;;) {
      const found = messages.find(p);
      if (found) {
        return found;
      }
      if (Date.now() > end) {
        throw new Error(`no such message in ${JSON.stringify(messages).slice(0, 500)}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { ws, messages, next };
}

const request = (service: string, command: string, parameters: object, requestid = '1') =>
  JSON.stringify({
    requests: [{ service, command, requestid, SchwabClientCustomerId: 'c', SchwabClientCorrelId: 'k', parameters }],
  });

describe('the fake Schwab', () => {
  it('answers 401 ServiceError without a valid bearer token, and the account numbers with one', async () => {
    const { server } = await fake();
    const refused = await fetch(`${server.baseUrl}/accounts/accountNumbers`, {
      headers: { Authorization: 'Bearer nope' },
    });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ message: expect.any(String), errors: expect.any(Array) });
    const ok = await fetch(`${server.baseUrl}/accounts/accountNumbers`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(await ok.json()).toEqual([{ accountNumber: '12345678', hashValue: server.accountHash }]);
  });

  it('denies a streamer LOGIN with a bad token (code 3), and streams heartbeats and LEVELONE quotes after a good one', async () => {
    const { server, replay } = await fake();
    const bad = await streamer(server.streamerUrl);
    bad.ws.send(
      request('ADMIN', 'LOGIN', { Authorization: 'nope', SchwabClientChannel: 'N9', SchwabClientFunctionId: 'APIAPP' }),
    );
    const denied = await bad.next((m) => m.response);
    expect(denied.response[0]).toMatchObject({ service: 'ADMIN', command: 'LOGIN', content: { code: 3 } });

    const good = await streamer(server.streamerUrl);
    good.ws.send(
      request('ADMIN', 'LOGIN', { Authorization: TOKEN, SchwabClientChannel: 'N9', SchwabClientFunctionId: 'APIAPP' }),
    );
    expect((await good.next((m) => m.response)).response[0].content.code).toBe(0);
    await good.next((m) => m.notify?.[0]?.heartbeat);
    good.ws.send(request('LEVELONE_EQUITIES', 'SUBS', { keys: 'SPY', fields: '0,1,2,3' }, '2'));
    good.ws.send(request('LEVELONE_OPTIONS', 'SUBS', { keys: OPTION, fields: '0,2,3' }, '3'));
    const spy = replay.getQuote('SPY')!;
    const equity = await good.next((m) => m.data?.[0]?.service === 'LEVELONE_EQUITIES');
    expect(equity.data[0].content[0]).toMatchObject({ key: 'SPY', '1': spy.bid.toNumber(), '2': spy.ask.toNumber() });
    const call = replay.getQuote(OPTION)!;
    const option = await good.next((m) => m.data?.[0]?.service === 'LEVELONE_OPTIONS');
    expect(option.data[0].content[0]).toMatchObject({
      key: OPTION,
      '2': call.bid.toNumber(),
      '3': call.ask.toNumber(),
    });
  });

  it('delivers LEVELONE quotes as "Change": every field first, then only what changed; quote times on the wall clock', async () => {
    const { server, replay } = await fake();
    const ws = await streamer(server.streamerUrl);
    ws.ws.send(
      request('ADMIN', 'LOGIN', { Authorization: TOKEN, SchwabClientChannel: 'N9', SchwabClientFunctionId: 'APIAPP' }),
    );
    await ws.next((m) => m.response);
    ws.ws.send(request('LEVELONE_EQUITIES', 'SUBS', { keys: 'SPY', fields: '0,1,2,3,4,5,34' }, '2'));
    const spy = replay.getQuote('SPY')!;
    const first = (await ws.next((m) => m.data?.[0]?.service === 'LEVELONE_EQUITIES')).data[0].content[0];
    expect(Object.keys(first).sort()).toEqual(['1', '2', '3', '34', '4', '5', 'delayed', 'key'].sort());
    expect(first).toMatchObject({ key: 'SPY', '1': spy.bid.toNumber(), '2': spy.ask.toNumber() });
    // The replay is paused: the quote keeps the replayed age, dated on the wall clock.
    expect(Math.abs(Date.now() - replay.quoteAgeMs(spy) - first['34'])).toBeLessThan(1_000);
    const override = await fetch(`${server.url}/test/quotes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ symbol: 'SPY', bid: '111.11', ageMs: 600_000 }),
    });
    expect(override.status).toBe(200);
    const change = (
      await ws.next((m) => m.data?.[0]?.service === 'LEVELONE_EQUITIES' && m.data[0].content[0]['1'] === 111.11)
    ).data[0].content[0];
    expect(Object.keys(change).sort()).toEqual(['1', '34', 'key']);
    expect(Date.now() - change['34']).toBeGreaterThanOrEqual(600_000);
    // An ADD of a key sends it in full; nothing of the other key is sent again.
    const before = ws.messages.length;
    ws.ws.send(request('LEVELONE_EQUITIES', 'ADD', { keys: 'QQQ,IWM', fields: '0,1,2,34' }, '3'));
    await ws.next((m) => m.response?.[0]?.command === 'ADD');
    await new Promise((r) => setTimeout(r, 100));
    const later = ws.messages.slice(before).flatMap((m) => m.data?.[0]?.content ?? []);
    expect(later.filter((c: any) => c.key === 'SPY' && c['2'] !== undefined)).toEqual([]);
  });

  it('refuses an option symbol Schwab would not write (unpadded) and an equity instruction on an option', async () => {
    const { server, replay } = await fake();
    const place = (symbol: string, instruction: string) =>
      fetch(`${server.baseUrl}/accounts/${server.accountHash}/orders`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          orderType: 'LIMIT',
          session: 'NORMAL',
          duration: 'DAY',
          orderStrategyType: 'SINGLE',
          price: replay.getQuote(OPTION)!.bid.toString(),
          orderLegCollection: [{ instruction, quantity: 1, instrument: { symbol, assetType: 'OPTION' } }],
        }),
      });
    expect((await place('SPXW210104C03700000', 'BUY_TO_OPEN')).status).toBe(400);
    expect((await place(OPTION, 'BUY')).status).toBe(400);
    const ok = await place(OPTION, 'BUY_TO_OPEN');
    expect(ok.status).toBe(201);
    expect(await ok.text()).toBe('');
    expect(ok.headers.get('location')).toMatch(new RegExp(`/accounts/${server.accountHash}/orders/\\d+$`));
  });

  it("numbers its orders and executions apart from another fake's, and enters orders on its venue's clock", async () => {
    const entered = Date.UTC(2026, 9, 5, 14, 30, 7, 450);
    const first = await fake({ now: () => entered });
    const second = await fake();
    const placeAndFill = async ({ server, replay }: { server: FakeSchwabServer; replay: MarketReplay }) => {
      const headers = { Authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
      const placed = await fetch(`${server.baseUrl}/accounts/${server.accountHash}/orders`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          orderType: 'LIMIT',
          session: 'NORMAL',
          duration: 'DAY',
          orderStrategyType: 'SINGLE',
          price: replay.getQuote('SPY')!.bid.minus(1).toString(),
          orderLegCollection: [{ instruction: 'BUY', quantity: 2, instrument: { symbol: 'SPY', assetType: 'EQUITY' } }],
        }),
      });
      expect(placed.status).toBe(201);
      const orderId = /\/orders\/(\d+)$/.exec(placed.headers.get('location') ?? '')![1]!;
      const filled = await fetch(`${server.url}/test/fill`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orderId, quantity: '1' }),
      });
      expect(filled.status).toBe(200);
      const order = await fetch(`${server.baseUrl}/accounts/${server.accountHash}/orders/${orderId}`, { headers });
      return (await order.json()) as {
        orderId: number;
        enteredTime: string;
        orderActivityCollection: { activityId: number }[];
      };
    };
    const a = await placeAndFill(first);
    const b = await placeAndFill(second);
    expect(a.orderId).not.toBe(b.orderId);
    expect(a.orderActivityCollection[0]!.activityId).not.toBe(b.orderActivityCollection[0]!.activityId);
    expect(a.enteredTime).toBe('2026-10-05T14:30:07+0000');
  });

  it('lists a replacement only once the venue took it: one the venue refuses never appears', async () => {
    const { server, replay, venue } = await fake(undefined, 150);
    const headers = { Authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const orders = `${server.baseUrl}/accounts/${server.accountHash}/orders`;
    const body = (quantity: number) =>
      JSON.stringify({
        orderType: 'LIMIT',
        session: 'NORMAL',
        duration: 'DAY',
        orderStrategyType: 'SINGLE',
        price: replay.getQuote('SPY')!.bid.minus(1).toString(),
        orderLegCollection: [{ instruction: 'BUY', quantity, instrument: { symbol: 'SPY', assetType: 'EQUITY' } }],
      });
    const placed = await fetch(orders, { method: 'POST', headers, body: body(2) });
    const orderId = /\/orders\/(\d+)$/.exec(placed.headers.get('location') ?? '')![1]!;
    const window = `fromEnteredTime=${new Date(Date.now() - 60_000).toISOString()}&toEnteredTime=${new Date(Date.now() + 60_000).toISOString()}`;
    const listed = async () => ((await (await fetch(`${orders}?${window}`, { headers })).json()) as unknown[]).length;
    // The replace waits for the venue (150 ms); the order fills completely meanwhile, so the venue refuses it.
    const replacing = fetch(`${orders}/${orderId}`, { method: 'PUT', headers, body: body(3) });
    await new Promise((r) => setTimeout(r, 50));
    expect(await listed()).toBe(1);
    venue.exchange.forceFill(orderId, new Decimal(2));
    expect((await replacing).status).toBe(400);
    expect(await listed()).toBe(1);
  });

  it('refuses (400) to replace an order it has accepted that the venue has not taken yet', async () => {
    const { server, replay } = await fake(undefined, 200);
    const headers = { Authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const orders = `${server.baseUrl}/accounts/${server.accountHash}/orders`;
    const body = (quantity: number) =>
      JSON.stringify({
        orderType: 'LIMIT',
        session: 'NORMAL',
        duration: 'DAY',
        orderStrategyType: 'SINGLE',
        price: replay.getQuote('SPY')!.bid.minus(1).toString(),
        orderLegCollection: [{ instruction: 'BUY', quantity, instrument: { symbol: 'SPY', assetType: 'EQUITY' } }],
      });
    const placing = fetch(orders, { method: 'POST', headers, body: body(2) });
    await new Promise((r) => setTimeout(r, 50));
    const window = `fromEnteredTime=${new Date(Date.now() - 60_000).toISOString()}&toEnteredTime=${new Date(Date.now() + 60_000).toISOString()}`;
    const [accepted] = (await (await fetch(`${orders}?${window}`, { headers })).json()) as {
      orderId: number;
      status: string;
    }[];
    expect(accepted!.status).toBe('ACCEPTED');
    const replaced = await fetch(`${orders}/${accepted!.orderId}`, { method: 'PUT', headers, body: body(3) });
    expect(replaced.status).toBe(400);
    expect((await placing).status).toBe(201);
  });
});

describe('the fake Schwab random_delay fault', () => {
  it('places the order at once and answers its 201 after a random delay within [delay_ms, max_delay_ms]', async () => {
    const { server, replay } = await fake();
    const faults = await fetch(`${server.url}/test/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'random_delay', delay_ms: 300, max_delay_ms: 600, seed: 7 }),
    });
    expect(faults.status).toBe(201);
    const listed = async () => (await (await fetch(`${server.url}/test/orders`)).json()) as any[];
    const sentAt = Date.now();
    let answeredAt: number | null = null;
    const placed = fetch(`${server.baseUrl}/accounts/${server.accountHash}/orders`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        orderType: 'LIMIT',
        session: 'NORMAL',
        duration: 'DAY',
        orderStrategyType: 'SINGLE',
        price: replay.getQuote('SPY')!.bid.minus(1).toString(),
        orderLegCollection: [{ instruction: 'BUY', quantity: 3, instrument: { symbol: 'SPY', assetType: 'EQUITY' } }],
      }),
    }).then((res) => {
      answeredAt = Date.now();
      return res;
    });
    // The order is at Schwab while its answer is still held back.
    while ((await listed()).length === 0) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(answeredAt).toBeNull();
    const res = await placed;
    expect(res.status).toBe(201);
    const [order] = await listed();
    expect(res.headers.get('location')).toMatch(new RegExp(`/orders/${order.orderId}$`));
    expect(answeredAt! - sentAt).toBeGreaterThanOrEqual(300);
    expect((await (await fetch(`${server.url}/test/received`)).json()).length).toBe(1);
  });

  it('is refused without a known kind', async () => {
    const { server } = await fake();
    const res = await fetch(`${server.url}/test/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'random_delays' }),
    });
    expect(res.status).toBe(400);
    expect((await res.json()).message).toContain('random_delay');
  });
});
