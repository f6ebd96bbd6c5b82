/**
 * Throughput and latency of `POST /v1/accounts/{id}/orders` end to end: the gateway started in-process on
 * a fresh database, the paper venue paused (orders rest, so the figure is the order path itself: lock,
 * idempotency, risk, two transactions, the venue's ack), autocannon driving it over loopback.
 * `npm run bench -- orders [connections] [seconds]`
 */
import { placeOrdersFor, withBenchGateway } from './bench-gateway.js';

export async function runPlaceOrderBench(connections = 8, seconds = 10): Promise<void> {
  await withBenchGateway(
    { RISK_MAX_ORDER_QUANTITY: '1000000000', RISK_MAX_ORDER_NOTIONAL: '1000000000000' },
    async (gateway, token) => {
      // Passive limits: they rest, so every request is a full new order.
      const result = await placeOrdersFor(gateway, token, connections, seconds);
      const ok = result.ok;
      console.log(
        `place order (${connections} connections, ${seconds} s): ${(ok / seconds).toFixed(0)} orders/s, ` +
          `latency median ${result.p50} ms, p99 ${result.p99} ms, max ${result.max} ms; ` +
          `${ok} accepted, ${result.non2xx} non-2xx, ${result.errors} errors`,
      );
    },
  );
}
