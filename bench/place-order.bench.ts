/**
 * Throughput and latency of `POST /v1/accounts/{id}/orders` end to end: the gateway started in-process on
 * a fresh database, the paper venue paused (orders rest, so the figure is the order path itself: lock,
 * idempotency, risk, two transactions, the venue's ack), autocannon driving it over loopback.
 * `npm run bench -- orders [connections] [seconds]`
 */
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';
import { startGateway } from '../apps/gateway/src/bootstrap.js';
import { loadConfig } from '../apps/gateway/src/config/config.js';

export async function runPlaceOrderBench(connections = 8, seconds = 10): Promise<void> {
  const name = `gw_bench_${randomBytes(4).toString('hex')}`;
  const server = process.env.BENCH_DATABASE_SERVER ?? 'postgres://postgres@127.0.0.1:5432';
  const gateway = await startGateway(
    loadConfig({
      ...process.env,
      DATABASE_URL: `${server}/${name}`,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      PAPER_SPEED: '0',
      PAPER_ACK_LATENCY_MS: '0',
      REDIS_PREFIX: `gwbench:${name}:`,
      RISK_MAX_ORDER_QUANTITY: '1000000000',
      RISK_MAX_ORDER_NOTIONAL: '1000000000000',
    }),
  );
  try {
    const token = await gateway.issuer.sign({ subject: 'bench', roles: ['trader'], accounts: ['*'], ttlSeconds: 3600 });
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
  } finally {
    await gateway.close();
    const admin = new pg.Client({ connectionString: `${server}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}
