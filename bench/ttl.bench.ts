/**
 * Order time-to-live precision (README, "Benchmarks": `ttlMs: 200` on a passive order cancels it within
 * 250 ms at the venue). Passive SPY limit orders with `ttlMs` are placed from `clients` concurrent loops for `seconds`;
 * for each one, the delay from its durable intent (`createdAt`, where the deadline counts from) to the
 * venue's own time of the cancel is measured, and the share within `ttlMs + 50` ms is reported.
 * `npm run bench -- ttl [clients] [seconds] [ttlMs]`
 */
import { withBenchGateway } from './bench-gateway.js';
import { summarise } from './stats.js';

export async function runTtlBench(clients = 4, seconds = 10, ttlMs = 200): Promise<void> {
  await withBenchGateway({}, async (gateway, token) => {
    const url = `${gateway.url}/v1/accounts/${gateway.demoAccountId}/orders`;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const ids: string[] = [];
    let n = 0;
    const until = Date.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (Date.now() < until) {
          const res = await fetch(url, {
            method: 'POST',
            headers,
            body: JSON.stringify({
              clientOrderId: `ttl-${n++}`,
              symbol: 'SPY',
              side: 'buy',
              quantity: '1',
              type: 'limit',
              limitPrice: '160.00', // far below the replayed market: it rests
              ttlMs,
            }),
          });
          const body = (await res.json()) as { id?: string };
          if (res.status === 201 && body.id) {
            ids.push(body.id);
          }
        }
      }),
    );
    await new Promise((r) => setTimeout(r, ttlMs + 2_000));
    const rows: { created_at: Date; record: { status: string; updatedAt: number } }[] = await gateway.dataSource.query(
      `SELECT o.created_at, v.record FROM orders o JOIN paper_venue_orders v ON v.client_order_id = o.id::text
          WHERE o.id = ANY($1)`,
      [ids],
    );
    const delays = rows
      .filter((r) => r.record.status === 'canceled')
      .map((r) => r.record.updatedAt - r.created_at.getTime());
    const s = summarise(delays);
    const within = delays.filter((d) => d <= ttlMs + 50).length;
    console.log(
      `ttl ${ttlMs} ms (${clients} clients placing for ${seconds} s, ${ids.length} orders, ${delays.length} canceled at the venue): ` +
        `intent → venue cancel median ${s.median} ms, p99 ${s.p99} ms, max ${s.max} ms; ` +
        `${within} of ${delays.length} (${((100 * within) / Math.max(1, delays.length)).toFixed(1)} %) within ${ttlMs + 50} ms`,
    );
  });
}
