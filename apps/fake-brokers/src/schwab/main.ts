import { paperVenueFromEnv, runFakeBroker, stopOnSignal } from '../fake-broker-process.js';
import { startFakeOAuthServer } from '../oauth/fake-oauth-server.js';
import { startFakeSchwab } from './fake-schwab-server.js';

/**
 * `npm run fake:schwab`: the fake Schwab Trader API as its own process (fake-schwab-server.ts), filling
 * against the market data replay, with the fake Schwab authorization server (../oauth) beside it in the same
 * process: the Trader API accepts exactly the access tokens that server issued and that are still valid.
 * Environment: `PORT` (0: any), `HOST` (127.0.0.1), `FAKE_SCHWAB_CLIENT_ID` / `FAKE_SCHWAB_CLIENT_SECRET`
 * (the app's key and secret; defaults `fake-schwab-app` / `fake-schwab-secret`), `FAKE_SCHWAB_ACCESS_TTL_SECONDS`
 * (1800), `FAKE_SCHWAB_ACCOUNT_NUMBER` (12345678), `FAKE_SCHWAB_CASH` (1000000),
 * `FAKE_SCHWAB_ORDER_RATE_LIMIT` (120 per minute), `FAKE_SCHWAB_HEARTBEAT_MS` (10000), `MARKET_DATA_DIR`
 * (../shared/data/market), `PAPER_SPXW_DATE` (20210104), `PAPER_SPEED` (1; 0 paused), `PAPER_START_TIME`
 * (09:30:00), `PAPER_ACK_LATENCY_MS` (0). Prints `fake schwab listening on http://HOST:PORT oauth http://HOST:PORT2`
 * once ready; SIGTERM or SIGINT stops it.
 */
async function main(): Promise<void> {
  const env = process.env;
  const { replay, venue } = paperVenueFromEnv(env, 'fake-schwab');
  const oauth = await startFakeOAuthServer({
    broker: 'schwab',
    clientId: env['FAKE_SCHWAB_CLIENT_ID'] ?? 'fake-schwab-app',
    clientSecret: env['FAKE_SCHWAB_CLIENT_SECRET'] ?? 'fake-schwab-secret',
    accessTtlSeconds: Number(env['FAKE_SCHWAB_ACCESS_TTL_SECONDS'] ?? '1800'),
  });
  const server = await startFakeSchwab({
    venue,
    replay,
    isAccessTokenValid: (token) => oauth.isAccessTokenValid(token),
    ...(env['FAKE_SCHWAB_ACCOUNT_NUMBER'] ? { accountNumber: env['FAKE_SCHWAB_ACCOUNT_NUMBER'] } : {}),
    ...(env['FAKE_SCHWAB_CASH'] ? { cash: env['FAKE_SCHWAB_CASH'] } : {}),
    orderRateLimitPerMinute: Number(env['FAKE_SCHWAB_ORDER_RATE_LIMIT'] ?? '120'),
    heartbeatMs: Number(env['FAKE_SCHWAB_HEARTBEAT_MS'] ?? '10000'),
    host: env['HOST'] ?? '127.0.0.1',
    port: Number(env['PORT'] ?? '0'),
  });
  replay.start();
  process.stdout.write(`fake schwab listening on ${server.url} oauth ${oauth.url}\n`);
  stopOnSignal(() => Promise.all([server.close(), oauth.close()]), replay);
}

runFakeBroker('fake schwab', main);
