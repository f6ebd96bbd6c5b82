import {
  MarketReplay,
  type PaperOrderRecord,
  PaperVenue,
  type PaperVenueStore,
  type ReplayState,
} from '@gateway/brokers';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { GatewayConfig } from '../config/config.js';

/** What the replay control route may do with the replay. */
export interface PaperReplayControl {
  state(): ReplayState;
  pause(): void;
  resume(): void;
  setSpeed(speed: number): void;
  stepTo(target: string): void;
}

/** The `application_name` of the in-process paper venue's connections to the gateway's database. */
export const PAPER_VENUE_APPLICATION_NAME = 'paper-venue';

/**
 * The paper venue's book in the gateway's database (its own table: the venue is a simulated broker,
 * its state is not the gateway's), so working paper orders survive a gateway restart.
 */
export class PaperVenueStoreAdapter implements PaperVenueStore {
  constructor(private readonly dataSource: DataSource) {}

  async load(): Promise<PaperOrderRecord[]> {
    const rows: { record: PaperOrderRecord }[] = await this.dataSource.query(
      'SELECT record FROM paper_venue_orders ORDER BY broker_order_id',
    );
    return rows.map((r) => r.record);
  }

  async save(record: PaperOrderRecord): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO paper_venue_orders (broker_order_id, client_order_id, record, updated_at)
       VALUES ($1, $2, $3::jsonb, now())
       ON CONFLICT (broker_order_id)
       DO UPDATE SET client_order_id = EXCLUDED.client_order_id, record = EXCLUDED.record, updated_at = now()`,
      [record.brokerOrderId, record.clientOrderId, JSON.stringify(record)],
    );
  }
}

export interface PaperSetup {
  readonly replay: MarketReplay;
  /** The in-process paper venue, when a broker is served by the `paper` adapter (else null). */
  readonly venue: PaperVenue | null;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Whether a broker of the deployment is served by the paper venue inside the gateway. */
export function hasInProcessPaperVenue(config: GatewayConfig): boolean {
  return Object.values(config.brokers).some((b) => b.adapter === 'paper');
}

/**
 * Loads the real market data for the gateway's quotes and sets up the paper venue in this process (its
 * book in the gateway's database) when a broker uses it. A broker served by a paper-venue process over
 * HTTP (`paper-http`, PAPER_VENUE_URL for `paper`) keeps its own book; the gateway still replays the same
 * recorded data for quotes and risk checks, and the replay control route moves only the gateway's replay.
 * Those clients are the broker registry's (market/broker-adapters.ts).
 */
export async function createPaperVenue(
  config: GatewayConfig,
  store: PaperVenueStore,
  logger: Logger,
): Promise<PaperSetup> {
  const replay = new MarketReplay({
    dataDir: config.paper.marketDataDir,
    spxwDate: config.paper.spxwDate,
    speed: config.paper.speed,
    paused: config.paper.speed === 0,
    startTime: config.paper.startTime,
    onError: (error) => logger.error({ err: error }, 'market replay failed'),
  });
  if (!hasInProcessPaperVenue(config)) {
    return {
      replay,
      venue: null,
      start: () => {
        replay.start();
        return Promise.resolve();
      },
      stop: () => {
        replay.stop();
        return Promise.resolve();
      },
    };
  }
  const venue = new PaperVenue(replay, {
    ackLatencyMs: config.paper.ackLatencyMs,
    store,
    onError: (error: unknown) => logger.error({ err: error }, 'paper venue failed'),
  });
  await venue.restore();
  return {
    replay,
    venue,
    start: () => {
      replay.start();
      return Promise.resolve();
    },
    stop: () => {
      replay.stop();
      venue.close?.();
      return Promise.resolve();
    },
  };
}
