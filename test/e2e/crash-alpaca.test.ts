import { alpacaExecutionId } from '@gateway/brokers';
import { connectBrokerAccount, delayAnswersAtRandom } from '../support/crash-fake-broker.js';
import { type BrokerFill, type CrashBroker, describeCrashTest, orderTerms } from '../support/crash-run.js';
import { type FakeAlpacaProcess, startFakeAlpacaProcess } from '../support/fake-alpaca-process.js';
import { dec } from '../support/market-data.js';

/**
 * The crash test (test/support/crash-run.ts) against the fake Alpaca process (its own wire protocol, an
 * account connected by API keys as in alpaca.test.ts): the fake's `random_delay` fault answers each order
 * request (submit, cancel) a random 0–2 s after it acted on it, seeded with CRASH_SEED. Alpaca carries our
 * client order id, so a lost answer is settled by `GET /v2/orders:by_client_order_id`.
 *
 * 120 orders from 6 clients and 5 kills, not paper's 300 and 10: the three crash files run beside the rest of
 * the suite on two cores within its 15 minutes, and every order here costs a REST round trip and a stream
 * message more than on the paper venue; at 120 orders each kill still lands on several orders in flight.
 * The broker's records: the fake's received order requests (`GET /test/received`), its orders
 * (`GET /v2/orders?status=all`), fills (the FILL activities, keyed as the gateway's adapter keys them:
 * Alpaca order id and cumulative quantity) and positions (`GET /v2/positions`).
 *
 * Replay a failure with the printed seed: `CRASH_SEED=<seed> npx vitest run test/e2e/crash-alpaca.test.ts`
 * (CRASH_LOG_DIR=<dir> keeps every process's log in `<dir>/alpaca/`).
 */
const KEYS = { keyId: 'PKCRASHALPACAKEY', secretKey: 'crash-alpaca-secret-3f9a1c7e5b2d4a60' };
let fake: FakeAlpacaProcess | undefined;

/** Alpaca's order status in the gateway's words (alpaca-status.ts); anything else is shown as Alpaca's. */
function ourStatus(order: { status: string; filled_qty: string }): string {
  if (order.status === 'new' || order.status === 'partially_filled') {
    return dec(order.filled_qty) === '0' ? 'new' : 'partially_filled';
  }
  return ['filled', 'canceled', 'expired', 'replaced', 'rejected'].includes(order.status)
    ? order.status
    : `alpaca ${order.status}`;
}

async function alpacaOrders(): Promise<any[]> {
  const res = await fake!.call('GET', '/v2/orders?status=all&limit=500&direction=asc');
  if (res.status !== 200 || res.body.length >= 500) {
    throw new Error(`alpaca orders: ${res.status}, ${res.body.length} (one page of 500 at most is read)`);
  }
  return res.body;
}

const alpaca: CrashBroker = {
  name: 'alpaca',
  carriesClientOrderId: true,
  start: async (seed, startTime) => {
    fake = await startFakeAlpacaProcess(KEYS, { PAPER_START_TIME: startTime });
    await delayAnswersAtRandom(fake, 'Alpaca', seed);
  },
  gatewayEnv: () => ({ BROKERS: 'paper,alpaca', BROKER_ALPACA_ADAPTER: 'alpaca', BROKER_ALPACA_URL: fake!.url }),
  connect: (gw, databaseUrl) =>
    connectBrokerAccount(gw, databaseUrl, 'Alpaca', async (admin, accountId) => {
      const stored = await admin.request('PUT', `/v1/accounts/${accountId}/broker-credentials`, {
        kind: 'api_key',
        keyId: KEYS.keyId,
        secret: KEYS.secretKey,
      });
      if (stored.status !== 204) {
        throw new Error(`storing the Alpaca keys: ${stored.status} ${JSON.stringify(stored.body)}`);
      }
    }),
  fillOne: async (order) =>
    (await fake!.call('POST', '/test/fill', { client_order_id: order.id, qty: '1' })).status === 200,
  submits: async () => {
    const received = (await fake!.call('GET', '/test/received')).body as any[];
    return received
      .filter((r) => r.method === 'POST' && r.path === '/v2/orders')
      .map((r) => ({
        clientOrderId: r.body?.client_order_id ?? null,
        terms: orderTerms(r.body?.side, r.body?.qty, r.body?.limit_price ?? null),
      }));
  },
  orders: async () =>
    (await alpacaOrders()).map((o) => ({
      clientOrderId: o.client_order_id,
      brokerOrderId: o.id,
      terms: orderTerms(o.side, o.qty, o.limit_price),
      status: ourStatus(o),
      filledQuantity: o.filled_qty,
    })),
  fills: async () => {
    const clientIds = new Map((await alpacaOrders()).map((o) => [o.id as string, o.client_order_id as string]));
    const fills: BrokerFill[] = [];
    for (let token: string | null = null; ;) {
      const page = await fake!.call(
        'GET',
        `/v2/account/activities/FILL?direction=asc&page_size=100${token === null ? '' : `&page_token=${token}`}`,
      );
      const activities = page.body as any[];
      fills.push(
        ...activities.map((a) => ({
          brokerExecutionId: alpacaExecutionId(a.order_id, a.cum_qty),
          brokerOrderId: a.order_id,
          clientOrderId: clientIds.get(a.order_id) ?? null,
          symbol: a.symbol,
          side: a.side,
          quantity: a.qty,
          price: a.price,
        })),
      );
      if (activities.length < 100) {
        return fills;
      }
      token = activities.at(-1).id;
    }
  },
  positions: async () => {
    const res = await fake!.call('GET', '/v2/positions');
    return Object.fromEntries((res.body as any[]).map((p) => [p.symbol, dec(p.qty)]));
  },
  output: () => fake!.output(),
  stop: async () => fake?.stop(),
};

describeCrashTest(alpaca, { orders: 120, kills: 5, clients: 6, distinctTerms: false, timeoutMs: 240_000 });
