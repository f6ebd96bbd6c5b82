import { schwabExecutionId } from '@gateway/brokers';
import { netBySymbol } from '../support/chaos.js';
import { connectBrokerAccount, delayAnswersAtRandom } from '../support/crash-fake-broker.js';
import { type BrokerFill, type CrashBroker, describeCrashTest, orderTerms } from '../support/crash-run.js';
import { type FakeSchwabProcess, schwabGatewayEnv, startFakeSchwabProcess } from '../support/fake-schwab-process.js';
import { dec } from '../support/market-data.js';

/**
 * The crash test (test/support/crash-run.ts) against the fake Schwab process (its own wire protocol, an
 * account connected over the OAuth flow as in schwab.test.ts): the fake's `random_delay` fault answers each
 * order request (submit, cancel) a random 0–2 s after it acted on it, seeded with CRASH_SEED.
 *
 * Schwab has no client order id: a submit whose 201 (the order id is only in its Location) was lost to the
 * timeout or a kill is settled by matching Schwab's order list on account, symbol, side, quantity, limit
 * price and time window (matchBrokerOrder), and two identical candidates leave the order `unknown` on
 * purpose (with an alert) rather than guess. So here every planned order differs from every other in side,
 * quantity or limit price (`distinctTerms`): each lost answer has exactly one candidate, and the invariants
 * below are the same as for the other brokers. The submits the fake received and its orders are told apart
 * by those terms (no order twice), and its orders are paired with the gateway's by the broker order id the
 * gateway settled on.
 *
 * 120 orders from 6 clients and 5 kills, not paper's 300 and 10: the three crash files run beside the rest of
 * the suite on two cores within its 15 minutes, and every order here costs a REST round trip and a re-read of
 * the order for each stream message; at 120 orders each kill still lands on several orders in flight.
 * Schwab's order rate limit (its own e2e test, schwab.test.ts) is raised out of the way, at the fake and in
 * the gateway, so that every order reaches the lifecycle under test. The broker's records: the fake's
 * received order requests (`GET /test/received`), its orders with their executions (`GET /test/orders`,
 * fills keyed as the gateway's adapter keys them: Schwab order id and activity id), positions from those
 * executions (the account's positions need a Schwab access token, which only the gateway holds).
 *
 * Replay a failure with the printed seed: `CRASH_SEED=<seed> npx vitest run test/e2e/crash-schwab.test.ts`
 * (CRASH_LOG_DIR=<dir> keeps every process's log in `<dir>/schwab/`).
 */
const APP = { clientId: 'schwab-crash-app', clientSecret: 'schwab-crash-secret-8e2a4c6b1d' };
let fake: FakeSchwabProcess | undefined;

const sideOf = (instruction: string) => (instruction.startsWith('BUY') ? 'buy' : 'sell');

/** Schwab's order status in the gateway's words (schwab-status.ts); anything else is shown as Schwab's. */
function ourStatus(order: { status: string; filledQuantity: number }): string {
  if (order.status === 'WORKING') {
    return order.filledQuantity > 0 ? 'partially_filled' : 'new';
  }
  return ['FILLED', 'CANCELED', 'EXPIRED', 'REPLACED', 'REJECTED'].includes(order.status)
    ? order.status.toLowerCase()
    : `schwab ${order.status}`;
}

async function schwabOrders(): Promise<any[]> {
  const res = await fake!.call('GET', '/test/orders');
  if (res.status !== 200) {
    throw new Error(`schwab orders: ${res.status}`);
  }
  return res.body;
}

function fillsOf(orders: readonly any[]): BrokerFill[] {
  return orders.flatMap((o) =>
    (o.orderActivityCollection ?? []).map((a: any) => ({
      brokerExecutionId: schwabExecutionId(String(o.orderId), String(a.activityId)),
      brokerOrderId: String(o.orderId),
      clientOrderId: null,
      symbol: o.orderLegCollection[0].instrument.symbol,
      side: sideOf(o.orderLegCollection[0].instruction),
      quantity: String(a.executionLegs[0].quantity),
      price: String(a.executionLegs[0].price),
    })),
  );
}

const schwab: CrashBroker = {
  name: 'schwab',
  carriesClientOrderId: false,
  start: async (seed, startTime) => {
    fake = await startFakeSchwabProcess(APP, { PAPER_START_TIME: startTime, FAKE_SCHWAB_ORDER_RATE_LIMIT: '100000' });
    await delayAnswersAtRandom(fake, 'Schwab', seed);
  },
  gatewayEnv: () => ({
    BROKERS: 'paper,schwab',
    ...schwabGatewayEnv(fake!, APP),
    BROKER_SCHWAB_ORDER_RATE_PER_MINUTE: '0',
  }),
  connect: (gw, databaseUrl) =>
    connectBrokerAccount(gw, databaseUrl, 'Schwab', async (admin, accountId) => {
      const start = await admin.post(`/v1/accounts/${accountId}/broker-connection`, {
        redirectUri: `${gw.url}/v1/oauth/schwab/callback`,
      });
      if (start.status !== 201) {
        throw new Error(`starting the Schwab connection: ${start.status} ${JSON.stringify(start.body)}`);
      }
      const authorize = await fetch(start.body.authorizeUrl as string, { redirect: 'manual' });
      const done = await fetch(authorize.headers.get('location')!);
      const connection = (await admin.get(`/v1/accounts/${accountId}/broker-connection`)).body;
      if (done.status !== 200 || connection.status !== 'connected') {
        throw new Error(`the Schwab OAuth flow: ${done.status} ${await done.text()}, ${JSON.stringify(connection)}`);
      }
    }),
  fillOne: async (order) =>
    (await fake!.call('POST', '/test/fill', { orderId: order.brokerOrderId, quantity: '1' })).status === 200,
  submits: async () => {
    const received = (await fake!.call('GET', '/test/received')).body as any[];
    return received
      .filter((r) => r.method === 'POST' && /\/orders$/.test(r.path))
      .map((r) => {
        const leg = r.body?.orderLegCollection?.[0] ?? {};
        return {
          clientOrderId: null,
          terms: orderTerms(sideOf(leg.instruction ?? ''), leg.quantity, r.body?.price ?? null),
        };
      });
  },
  orders: async () =>
    (await schwabOrders()).map((o) => ({
      clientOrderId: null,
      brokerOrderId: String(o.orderId),
      terms: orderTerms(sideOf(o.orderLegCollection[0].instruction), o.quantity, o.price ?? null),
      status: ourStatus(o),
      filledQuantity: dec(String(o.filledQuantity)),
    })),
  fills: async () => fillsOf(await schwabOrders()),
  positions: (fills) => Promise.resolve(netBySymbol(fills)),
  output: () => fake!.output(),
  stop: async () => fake?.stop(),
};

describeCrashTest(schwab, { orders: 120, kills: 5, clients: 6, distinctTerms: true, timeoutMs: 240_000 });
