import { SchwabClient, type VenueRequest } from '@gateway/brokers';
import { FakeSchwabServer } from '../../../../fake-brokers/src/schwab/fake-schwab-server.js';
import { wsStreamConnector } from '../../market/ws-stream-connector.js';
import { addFakeFault, BrokerWire, clearFakeFaults } from './lifecycle-harness-wire.js';
import type { VenueHarness, VenueLink } from './order-lifecycle.model.js';

/** The account's OAuth access token, as the vault would hand it over (the fake checks it, nothing issues it). */
const TOKEN = 'I0.model-schwab-access-token';
/** Longer than any sequence: no heartbeat, no stall, no quotes (the model trades through the order API only). */
const QUIET_STREAM_MS = 3_600_000;
/** The request id of the wire's echo (BrokerWire.quiet). */
const ECHO_ID = 'model-echo';

/**
 * Schwab: the gateway's SchwabClient (libs/brokers/src/schwab) over real HTTP and the streamer's ACCT_ACTIVITY
 * WebSocket to an in-process FakeSchwabServer over the sequence's FaultyVenue, one fake per sequence, one client
 * per gateway generation (a restart loses what the client learnt; our ids of Schwab's order ids come back from
 * the orders table, as the gateway's resolver reads them). A static access token (the client takes the token
 * the vault holds; refreshing it is not the lifecycle's business).
 *
 * Faults travel as for Alpaca (lifecycle-harness-alpaca.ts): `ack_lost` and `error_after_accept` are the fake's
 * (the answer dropped after the order is done, a 500 after it), `connection_reset` the wire's, and
 * `accepted_without_id` (a 201 without a Location) is the 500 after accepting, which leaves the client as unsure.
 *
 * What differs from paper (ProtocolLimits), all from Schwab having no client order id (PROTOCOLS.md A3;
 * docs/brokers/schwab.md): an order whose 201 did not reach the client stays `unknown`, and none of the
 * stream's news reaches it, until the reconciler matches it in the order list (matchBrokerOrder); an order
 * that never reached Schwab, or one of two identical candidates, is never matched, by design. So a reset
 * submit is taken as one whose answer was lost after Schwab read it (the nearest fault that can be settled),
 * and the account's orders are kept distinct. A reset replace is what it is: the PUT never reaches Schwab, and
 * reconciliation settles the replacement `rejected` once Schwab's list shows the old order not replaced after
 * the in-flight window (docs/brokers/schwab.md). A replace is never parked at the venue: while it is, Schwab
 * shows the old order PENDING_REPLACE and reconciliation rightly decides nothing, where the model wants every
 * order settled once the window has passed; it is an `ack_delay` (Schwab answers late, after acting at once).
 * The venue keys orders by Schwab's order id: the
 * venue requests of a command are ours once the command tells which order it made (VenueLink.claim).
 */
export const schwabHarness: VenueHarness = {
  name: 'schwab',
  specFile: 'apps/gateway/src/orders/order-lifecycle.model.schwab.spec.ts',
  defaultRuns: 500,
  // In the past of the wall clock: the client lists orders up to a minute from the wall clock's now
  // (toEnteredTime), and the fake enters them on the venue's (our) clock; 60 days of 90-minute steps hold 960.
  clock: () => ({ startMs: Date.now() - 60 * 86_400_000, stepMs: 90 * 60_000 }),
  submitTimeoutMs: 250,
  gatewayCallsVenue: false,
  protocol: {
    lostSubmitAnswerReported: false,
    reportsNeedBrokerOrderId: true,
    replaceSettledByStream: false,
    distinctOrders: true,
    fillMayRaceReplace: true,
    venueExecutionIds: false,
    variants: {
      submit: { accepted_without_id: 'error_after_accept', connection_reset: 'ack_lost' },
      replace: { accepted_without_id: 'error_after_accept', held: 'ack_delay' },
    },
  },
  open: async ({ venue, replay, activity, accountId, dataSource, logger }) => {
    const fake = new FakeSchwabServer({
      venue,
      replay,
      isAccessTokenValid: (token) => token === TOKEN,
      heartbeatMs: QUIET_STREAM_MS,
      quoteIntervalMs: QUIET_STREAM_MS,
      orderRateLimitPerMinute: 1_000_000,
    });
    await fake.listen();
    // Schwab order id ↔ our order id: the venue's requests of the current command, claimed once it says whose.
    const ours = new Map<string, string>();
    const keys = new Map<string, string>();
    let unclaimed: string[] = [];
    venue.onArrival((request: VenueRequest) => {
      if (request.kind === 'submit') {
        unclaimed.push(request.command.clientOrderId);
      } else if (request.kind === 'replace') {
        unclaimed.push(request.command.newClientOrderId);
      }
    });
    const orderIdOf = (key: string) => ours.get(key) ?? key;
    const wire = new BrokerWire(activity, {
      isOrderRequest: (method, url) => method !== 'GET' && /\/orders(\/\d+)?$/.test(new URL(url).pathname),
      orderOf: (text) => {
        const message = JSON.parse(text) as { data?: { service?: string; content?: { '3'?: unknown }[] }[] };
        const item = message.data?.find((d) => d.service === 'ACCT_ACTIVITY')?.content?.[0]?.['3'];
        if (typeof item !== 'string') {
          return null;
        }
        const id = (JSON.parse(item) as { SchwabOrderID?: unknown }).SchwabOrderID;
        return typeof id === 'string' || typeof id === 'number' ? orderIdOf(String(id)) : null;
      },
      // A command the streamer does not have: it answers `code 21` on the socket, and nothing changes.
      echo: {
        request: JSON.stringify({ requests: [{ service: 'ADMIN', command: 'MODEL_ECHO', requestid: ECHO_ID }] }),
        isAnswer: (text) =>
          (JSON.parse(text) as { response?: { requestid?: unknown }[] }).response?.[0]?.requestid === ECHO_ID,
      },
    });
    let client: SchwabClient | null = null;
    let armed = false;
    const link: VenueLink = {
      connect: async () => {
        client = new SchwabClient({
          venue: 'schwab',
          baseUrl: fake.baseUrl,
          streamerUrl: fake.streamerUrl,
          accessToken: TOKEN,
          accountNumber: null,
          connect: wire.connector(wsStreamConnector),
          logger,
          accountId,
          // As bootstrap.ts resolves them: whose order a Schwab order id is, from the orders table.
          // Counted as activity: a stream message waits on it before its report goes out.
          resolveOrderId: (brokerOrderId) =>
            activity.track(
              dataSource
                .query<{ id: string }[]>(
                  'SELECT id FROM orders WHERE account_id = $1 AND broker_order_id = $2 LIMIT 1',
                  [accountId, brokerOrderId],
                )
                .then((rows) => rows[0]?.id ?? null),
            ),
          streamStallMs: QUIET_STREAM_MS,
          fetch: wire.fetch,
        });
        await client.start();
        return client;
      },
      disconnect: async () => {
        wire.disconnected();
        await client?.close();
        client = null;
      },
      venueKey: (orderId) => keys.get(orderId) ?? orderId,
      orderIdOf,
      claim: (orderId) => {
        for (const key of unclaimed) {
          ours.set(key, orderId);
          keys.set(orderId, key);
        }
        unclaimed = [];
      },
      arm: async (variant) => {
        switch (variant) {
          case 'ack_lost':
          case 'error_after_accept':
            // The fake matches by symbol only: every order of the model is SPY, and the rule is used up by the
            // command's one order request.
            armed = true;
            await addFakeFault(fake.url, { kind: variant, match: { symbol: 'SPY' }, remaining: 1 });
            return true;
          case 'connection_reset':
            wire.resetNextOrderRequest();
            return true;
          case 'plain':
          case 'held':
          case 'ack_delay':
          case 'accepted_without_id':
          case 'fill_before_ack':
          case 'late_fill_after_cancel':
          case 'fill_during_pending_cancel':
          case 'cancel_rejected_filled':
          case 'replace_rejected_filled':
            return false; // the venue's, behind the fake (accepted_without_id is mapped before it comes here)
        }
      },
      disarm: async () => {
        wire.resetNextOrderRequest(false);
        if (armed) {
          armed = false;
          await clearFakeFaults(fake.url);
        }
      },
      pendingAtBroker: async (orderId) => {
        const key = keys.get(orderId);
        if (key === undefined) {
          return false;
        }
        const res = await fetch(`${fake.baseUrl}/accounts/${fake.accountHash}/orders/${key}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        const order = (await res.json().catch(() => ({}))) as { status?: string };
        // The fake refuses a second cancel while the first is not confirmed (Schwab's PENDING_CANCEL), and a
        // cancel or replace while a PUT is being carried out (PENDING_REPLACE).
        return res.status === 200 && (order.status === 'PENDING_CANCEL' || order.status === 'PENDING_REPLACE');
      },
      duplicate: (orderId, count) => wire.duplicate(orderId, count),
      reemit: (index) => wire.reemit(index),
      quiet: () => wire.quiet(),
      close: async () => {
        await client?.close();
        await fake.close();
      },
    };
    return link;
  },
};
