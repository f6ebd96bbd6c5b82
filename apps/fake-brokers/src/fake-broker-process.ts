import { resolve } from 'node:path';
import { MarketReplay, PaperVenue, packageRoot } from '@gateway/brokers';

/**
 * What the fake brokers' processes (`npm run fake:alpaca`, `fake:schwab`) share: the paper venue they fill
 * against, built from the environment, and their start/stop handling.
 */

/**
 * The market data replay and the paper venue on it, from `MARKET_DATA_DIR` (../shared/data/market, from the
 * package root), `PAPER_SPXW_DATE` (20210104), `PAPER_SPEED` (1; 0 paused), `PAPER_START_TIME` (09:30:00)
 * and `PAPER_ACK_LATENCY_MS` (0). Errors of either are written to stderr tagged `[tag]`.
 */
export function paperVenueFromEnv(env: NodeJS.ProcessEnv, tag: string): { replay: MarketReplay; venue: PaperVenue } {
  const speed = Number(env['PAPER_SPEED'] ?? '1');
  const onError = (error: unknown) => console.error(`[${tag}]`, error);
  const replay = new MarketReplay({
    dataDir: resolve(packageRoot(), env['MARKET_DATA_DIR'] ?? '../shared/data/market'),
    spxwDate: env['PAPER_SPXW_DATE'] ?? '20210104',
    speed,
    paused: speed === 0,
    startTime: env['PAPER_START_TIME'] ?? '09:30:00',
    onError,
  });
  const venue = new PaperVenue(replay, { ackLatencyMs: Number(env['PAPER_ACK_LATENCY_MS'] ?? '0'), onError });
  return { replay, venue };
}

/** On SIGTERM or SIGINT: `close` the servers, stop the replay and exit 0 (1 when closing failed). */
export function stopOnSignal(close: () => Promise<unknown>, replay: MarketReplay): void {
  const stop = (): void => {
    close().then(
      () => {
        replay.stop();
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Runs a fake broker's `main`; if it fails, writes `<name>: failed to start: <stack>` to stderr and exits 1. */
export function runFakeBroker(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(
      `${name}: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
