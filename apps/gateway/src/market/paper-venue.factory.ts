import {
  type ExecutionClient,
  HttpVenueClient,
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
  readonly venue: ExecutionClient;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Loads the real market data for the gateway's quotes and sets up the paper venue: in this process (its
 * book in the gateway's database), or, with PAPER_VENUE_URL, the separate venue process over HTTP (its
 * book is its own; the gateway still replays the same recorded data for quotes and risk checks, and the
 * replay control route moves only the gateway's replay). The HTTP venue's report stream starts after
 * the venue's current last report, fixed before the app starts: what happened while the gateway was
 * down is picked up by the start-up account reconciliation pass.
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
  if (config.paperVenueUrl !== null) {
    const client = new HttpVenueClient({
      baseUrl: config.paperVenueUrl,
      onError: (error: unknown) => logger.warn({ err: error }, 'paper venue connection'),
    });
    // The stream's starting point is fixed now, before the start-up account pass lists the venue's orders
    // and fills: what happened before is the pass's, what happens after is the stream's (both idempotent).
    await client.start();
    return {
      replay,
      venue: client,
      start: () => {
        replay.start();
        return Promise.resolve();
      },
      stop: async () => {
        replay.stop();
        await client.close();
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
