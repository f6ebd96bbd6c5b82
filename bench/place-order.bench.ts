/**
 * Throughput and latency of `POST /v1/accounts/{id}/orders` end to end: the gateway started in-process on
 * a fresh database, the paper venue paused (orders rest, so the figure is the order path itself: lock,
 * idempotency, risk, two transactions, the venue's ack), autocannon driving it over loopback.
 * `npm run bench -- orders [connections] [seconds]`
 */
import autocannon from 'autocannon';
import { withBenchGateway } from './bench-gateway.js';

export async function runPlaceOrderBench(connections = 8, seconds = 10): Promise<void> {
  await withBenchGateway(
    { RISK_MAX_ORDER_QUANTITY: '1000000000', RISK_MAX_ORDER_NOTIONAL: '1000000000000' },
    async (gateway, token) => {
      let n = 0;
      const result = await autocannon({
        url: `${gateway.url}/v1/accounts/${gateway.demoAccountId}/orders`,
        connections,
        duration: seconds,
        requests: [
          {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            // A passive limit: it rests, so every request is a full new order.
            setupRequest: (req) => ({
              ...req,
              body: JSON.stringify({
                clientOrderId: `bench-${n++}`,
                symbol: 'SPY',
                side: 'buy',
                quantity: '1',
                type: 'limit',
                limitPrice: '160.00',
              }),
            }),
          },
        ],
      });
      const ok = result['2xx'];
      console.log(
        `place order (${connections} connections, ${seconds} s): ${(ok / seconds).toFixed(0)} orders/s, ` +
          `latency median ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms; ` +
          `${ok} accepted, ${result.non2xx} non-2xx, ${result.errors} errors`,
      );
    },
  );
}
