import { paperVenueFromEnv, runFakeBroker, stopOnSignal } from '../fake-broker-process.js';
import { startFakeAlpaca } from './fake-alpaca-server.js';

/**
 * `npm run fake:alpaca`: the fake Alpaca Trading API as its own process (fake-alpaca-server.ts), filling
 * against the market data replay. Environment: `PORT` (0: any), `HOST` (127.0.0.1), `FAKE_ALPACA_KEY_ID`
 * and `FAKE_ALPACA_SECRET_KEY` (the one key pair it accepts; defaults `fake-key-id` / `fake-secret-key`),
 * `FAKE_ALPACA_CASH` (1000000), `MARKET_DATA_DIR` (../shared/data/market), `PAPER_SPXW_DATE` (20210104),
 * `PAPER_SPEED` (1; 0 paused), `PAPER_START_TIME` (09:30:00), `PAPER_ACK_LATENCY_MS` (0). Prints
 * `fake alpaca listening on http://HOST:PORT` once ready; SIGTERM or SIGINT stops it.
 */
async function main(): Promise<void> {
  const env = process.env;
  const { replay, venue } = paperVenueFromEnv(env, 'fake-alpaca');
  const server = await startFakeAlpaca({
    venue,
    replay,
    keyId: env['FAKE_ALPACA_KEY_ID'] ?? 'fake-key-id',
    secretKey: env['FAKE_ALPACA_SECRET_KEY'] ?? 'fake-secret-key',
    ...(env['FAKE_ALPACA_CASH'] ? { cash: env['FAKE_ALPACA_CASH'] } : {}),
    host: env['HOST'] ?? '127.0.0.1',
    port: Number(env['PORT'] ?? '0'),
  });
  replay.start();
  process.stdout.write(`fake alpaca listening on ${server.url}\n`);
  stopOnSignal(() => server.close(), replay);
}

runFakeBroker('fake alpaca', main);
