import { AlpacaClient, type VenueRequest } from '@gateway/brokers';
import { FakeAlpacaServer } from '../../../../fake-brokers/src/alpaca/fake-alpaca-server.js';
import { wsStreamConnector } from '../../market/ws-stream-connector.js';
import { addFakeFault, BrokerWire, clearFakeFaults } from './lifecycle-harness-wire.js';
import type { VenueHarness, VenueLink } from './order-lifecycle.model.js';

const KEY_ID = 'PKMODELALPACA';
const SECRET = 'model-alpaca-secret-5b0c2e7d9f1a';
/** Each sequence's fake acts on a replace this long after the PATCH (the fake's default). */
const REPLACE_DELAY_MS = 20;
/** How long a PATCH's act is waited for at most (it always comes; this only bounds a bug). */
const REPLACE_ACT_BOUND_MS = 2_000;
/** Alpaca statuses of an order the broker has not handed to the venue yet, or holds for a request of its own. */
const PENDING = new Set(['pending_new', 'accepted', 'pending_replace', 'pending_cancel']);

/**
 * Alpaca: the gateway's AlpacaClient (libs/brokers/src/alpaca) over real HTTP and the `trade_updates`
 * WebSocket to an in-process FakeAlpacaServer over the sequence's FaultyVenue, one fake per sequence, one
 * client per gateway generation (a restart loses the stream; the start-up pass reads the REST lists).
 *
 * The FaultyVenue's answer faults do not travel through the fake (the fake waits for the venue's answer and
 * has no abort, so a lost answer would hang it): `ack_lost` and `error_after_accept` are the fake's own
 * faults (the answer dropped, a 500 after accepting); `connection_reset` is the wire's (the request never
 * leaves). `accepted_without_id` has no Alpaca form (an order always has its id): it is the 500 after
 * accepting, which leaves the client as unsure. Parked requests, `ack_delay` and the venue faults (fills
 * racing a cancel or replace) are the venue's, behind the fake.
 *
 * What differs from paper (ProtocolLimits): a lost answer is still reported on `trade_updates`, which
 * carries our client order id (PROTOCOLS.md B2); execution ids are the adapter's (`alpacaExecutionId`: the
 * Alpaca order id and the cumulative quantity, as the fill activities have no execution id). Alpaca's
 * replace makes a new Alpaca order id (README.md, Alpaca Trading API): our ids stay ours, nothing to adapt.
 *
 * Replace, as Alpaca does it (docs/brokers/alpaca.md, "Replace"): the PATCH's `qty` is the new order's own
 * quantity (the adapter sends what is left of the new total), the old order keeps its fills. A replace may be
 * parked at the venue and a fill may race it (ProtocolLimits.fillMayRaceReplace): the gateway reads the
 * replacement's booked quantity back from every report of it (ExecutionReportProcessor, `rebooked`), so a
 * replacement reconciliation accepted early, from the fake's `pending_new` view, follows the venue's booking.
 * Found by this model before that (seed -973428539, path '374:3:9:18:20:8:9:8:8:8:9:10:9:9:11:11:12:13:13:14:14',
 * when the fake still booked the new total less the fills): the replacement ended up working more at the
 * gateway than at the venue.
 */
export const alpacaHarness: VenueHarness = {
  name: 'alpaca',
  specFile: 'apps/gateway/src/orders/order-lifecycle.model.alpaca.spec.ts',
  defaultRuns: 500,
  // In the past of the wall clock: the fake and the adapter stamp orders and fills with it (Date.now()), and
  // the reconciler lists them from our clock's look-back; 60 days of 90-minute steps hold 960 sequences.
  clock: () => ({ startMs: Date.now() - 60 * 86_400_000, stepMs: 90 * 60_000 }),
  submitTimeoutMs: 250,
  gatewayCallsVenue: false,
  protocol: {
    lostSubmitAnswerReported: true,
    reportsNeedBrokerOrderId: false,
    replaceSettledByStream: true,
    distinctOrders: false,
    fillMayRaceReplace: true,
    venueExecutionIds: false,
    variants: {
      submit: { accepted_without_id: 'error_after_accept' },
      replace: { accepted_without_id: 'error_after_accept' },
    },
  },
  open: async ({ venue, replay, activity, accountId, logger }) => {
    const fake = new FakeAlpacaServer({
      venue,
      replay,
      keyId: KEY_ID,
      secretKey: SECRET,
      replaceDelayMs: REPLACE_DELAY_MS,
    });
    await fake.listen();
    const wire = new BrokerWire(activity, {
      isOrderRequest: (method, url) => method !== 'GET' && new URL(url).pathname.startsWith('/v2/orders'),
      orderOf: (text) => {
        const message = JSON.parse(text) as { stream?: string; data?: { order?: { client_order_id?: string } } };
        return message.stream === 'trade_updates' ? (message.data?.order?.client_order_id ?? null) : null;
      },
      // Listening again to what it listens to: the fake answers `listening` on the socket, and nothing changes.
      echo: {
        request: JSON.stringify({ action: 'listen', data: { streams: ['trade_updates'] } }),
        isAnswer: (text) => (JSON.parse(text) as { stream?: string }).stream === 'listening',
      },
    });
    // A PATCH the fake took acts on the venue REPLACE_DELAY_MS later, on the fake's own timer: counted until
    // the replace reaches the venue, so that a command settles only once it has.
    const replacing = new Map<string, () => void>();
    venue.onArrival((request: VenueRequest) => {
      if (request.kind === 'replace') {
        replacing.get(request.command.newClientOrderId)?.();
      }
    });
    const fetchImpl: typeof fetch = async (input, init) => {
      const body = typeof init?.body === 'string' ? init.body : null;
      const patch =
        init?.method === 'PATCH' && body !== null ? (JSON.parse(body) as { client_order_id?: string }) : null;
      const id = patch?.client_order_id;
      if (id !== undefined) {
        activity.begin();
        const timer = setTimeout(() => done(), REPLACE_ACT_BOUND_MS);
        const done = (): void => {
          if (replacing.get(id) === done) {
            replacing.delete(id);
            clearTimeout(timer);
            activity.end();
          }
        };
        replacing.set(id, done);
      }
      try {
        const res = await wire.fetch(input, init);
        if (id !== undefined && res.status !== 200 && res.status < 500) {
          replacing.get(id)?.(); // refused: nothing will act
        }
        return res;
      } catch (error) {
        if (id !== undefined && wire.isReset(error)) {
          replacing.get(id)?.(); // reset before sending (the wire's fault): the fake never saw it
        }
        throw error;
      }
    };
    let client: AlpacaClient | null = null;
    let armed = false;
    const link: VenueLink = {
      connect: async () => {
        client = new AlpacaClient({
          venue: 'alpaca',
          baseUrl: fake.url,
          streamUrl: fake.streamUrl,
          credentials: { kind: 'api_key', keyId: KEY_ID, secret: SECRET },
          connect: wire.connector(wsStreamConnector),
          logger,
          accountId,
          fetch: fetchImpl,
        });
        await client.start();
        return client;
      },
      disconnect: async () => {
        wire.disconnected();
        await client?.close();
        client = null;
      },
      venueKey: (orderId) => orderId,
      orderIdOf: (key) => key,
      claim: () => undefined,
      arm: async (variant, match) => {
        switch (variant) {
          case 'ack_lost':
          case 'error_after_accept':
            armed = true;
            await addFakeFault(fake.url, {
              kind: variant,
              match: match.orderId !== undefined ? { client_order_id: match.orderId } : { symbol: match.symbol },
              remaining: 1,
            });
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
        const res = await fetch(
          `${fake.url}/v2/orders:by_client_order_id?client_order_id=${encodeURIComponent(orderId)}`,
          { headers: { 'APCA-API-KEY-ID': KEY_ID, 'APCA-API-SECRET-KEY': SECRET } },
        );
        const order = (await res.json()) as { status?: string };
        // The fake refuses a cancel or replace in these (the venue may already work the order).
        return res.status === 200 && PENDING.has(order.status ?? '');
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
