import { netBySymbol, venueFills, venueOrders } from '../support/chaos.js';
import { type BrokerFill, type CrashBroker, describeCrashTest, orderTerms } from '../support/crash-run.js';
import { startVenueProcess, type VenueProcess } from '../support/venue-process.js';

/**
 * The crash test (test/support/crash-run.ts) against the paper venue process (test/support/venue-process.ts):
 * its latency fault delays each submit, cancel and replace by a random 0–2 s (VENUE_LATENCY_*, VENUE_SEED)
 * before it acts and answers. 300 orders from 6 clients, 10 kills. The broker's records: the venue's received
 * submits (`/v1/test/received`), its orders and fills (`/v1/orders`, `/v1/fills`), positions from its fills.
 *
 * Replay a failure with the printed seed: `CRASH_SEED=<seed> npx vitest run test/e2e/crash.test.ts`
 * (CRASH_LOG_DIR=<dir> keeps every process's log in `<dir>/paper/`).
 */
let venue: VenueProcess | undefined;

const paper: CrashBroker = {
  name: 'paper',
  carriesClientOrderId: true,
  start: async (seed, startTime) => {
    venue = await startVenueProcess({
      VENUE_LATENCY_MIN_MS: '0',
      VENUE_LATENCY_MAX_MS: '2000',
      VENUE_SEED: String(seed),
      PAPER_START_TIME: startTime,
    });
  },
  gatewayEnv: () => ({ PAPER_VENUE_URL: venue!.url }),
  // The gateway's own paper account (its banner's ACCOUNT_ID and TOKEN), on the venue by PAPER_VENUE_URL.
  connect: (gw) => Promise.resolve({ accountId: gw.accountId, token: gw.traderToken }),
  fillOne: async (order) =>
    (await venue!.call('POST', `/v1/test/orders/${order.id}/fill`, { quantity: '1' })).status === 200,
  submits: async () =>
    (await venue!.received()).map((r) => ({
      clientOrderId: r.clientOrderId,
      terms: orderTerms(r.side, r.quantity, r.limitPrice ?? null),
    })),
  orders: async () =>
    (await venueOrders(venue!)).map((o) => ({
      clientOrderId: o.clientOrderId,
      brokerOrderId: o.brokerOrderId,
      terms: orderTerms(o.side, o.quantity, o.limitPrice ?? null),
      status: o.status,
      filledQuantity: o.filledQuantity,
    })),
  fills: async (): Promise<BrokerFill[]> =>
    (await venueFills(venue!)).map((f) => ({
      brokerExecutionId: f.brokerExecutionId,
      brokerOrderId: f.brokerOrderId,
      clientOrderId: f.clientOrderId,
      symbol: f.symbol,
      side: f.side,
      quantity: f.quantity,
      price: f.price,
    })),
  positions: (fills) => Promise.resolve(netBySymbol(fills)),
  output: () => venue!.output(),
  stop: async () => venue?.stop(),
};

describeCrashTest(paper, {
  orders: 300,
  kills: 10,
  clients: 6,
  distinctTerms: false,
  timeoutMs: 240_000,
  quietAccount: true,
});
