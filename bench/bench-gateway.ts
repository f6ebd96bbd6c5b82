import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';
import { type RunningGateway, startGateway } from '../apps/gateway/src/bootstrap.js';
import { loadConfig } from '../apps/gateway/src/config/config.js';

/**
 * Runs `work` against a gateway started in-process on a fresh database (dropped afterwards), the paper
 * venue paused (orders rest) and acknowledging at once, with a trader token for every account.
 */
export async function withBenchGateway(
  env: Record<string, string>,
  work: (gateway: RunningGateway, token: string) => Promise<void>,
): Promise<void> {
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
      ...env,
    }),
  );
  try {
    const token = await gateway.issuer.sign({ subject: 'bench', roles: ['trader'], accounts: ['*'], ttlSeconds: 3600 });
    await work(gateway, token);
  } finally {
    await gateway.close();
    const admin = new pg.Client({ connectionString: `${server}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

/** One load phase's figures: 2xx answers, accept latency p50, p99 and max in ms, non-2xx answers, errors. */
export interface OrderLoad {
  readonly ok: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly non2xx: number;
  readonly errors: number;
}

let loadSerial = 0;

/**
 * `seconds` of `POST /v1/accounts/{id}/orders` on the demo account over `connections` connections:
 * resting SPY buy limits of 1 share (the venue is paused), each with a new clientOrderId.
 */
export async function placeOrdersFor(
  gateway: RunningGateway,
  token: string,
  connections: number,
  seconds: number,
): Promise<OrderLoad> {
  const result = await autocannon({
    url: `${gateway.url}/v1/accounts/${gateway.demoAccountId}/orders`,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        setupRequest: (req) => ({
          ...req,
          body: JSON.stringify({
            clientOrderId: `bench-load-${loadSerial++}`,
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
  if (result.non2xx > 0 || result.errors > 0) {
    console.log(`  (${result.non2xx} non-2xx: ${JSON.stringify(result.statusCodeStats)}, ${result.errors} errors)`);
  }
  return {
    ok: result['2xx'],
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}
