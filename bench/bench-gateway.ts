import { randomBytes } from 'node:crypto';
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
