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
import { PaperVenueOrderEntity } from '../database/entities.js';

/** What the replay control route may do with the replay. */
export interface PaperReplayControl {
  state(): ReplayState;
  pause(): void;
  resume(): void;
  setSpeed(speed: number): void;
  stepTo(target: string): void;
}

/**
 * The paper venue's book in the gateway's database (its own table: the venue is a simulated broker,
 * its state is not the gateway's), so working paper orders survive a gateway restart.
 */
export class PaperVenueStoreAdapter implements PaperVenueStore {
  constructor(private readonly dataSource: DataSource) {}

  async load(): Promise<PaperOrderRecord[]> {
    const rows = await this.dataSource.getRepository(PaperVenueOrderEntity).find({ order: { brokerOrderId: 'ASC' } });
    return rows.map((r) => r.record as unknown as PaperOrderRecord);
  }

  async save(record: PaperOrderRecord): Promise<void> {
    await this.dataSource.getRepository(PaperVenueOrderEntity).upsert(
      {
        brokerOrderId: record.brokerOrderId,
        clientOrderId: record.clientOrderId,
        record: record as unknown as Record<string, unknown>,
        updatedAt: new Date(),
      } as never,
      ['brokerOrderId'],
    );
  }
}

export interface PaperSetup {
  readonly replay: MarketReplay;
  readonly venue: PaperVenue;
  start(): void;
  stop(): void;
}

/** Loads the real market data, restores the venue's book and wires the venue to the replay. */
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
  const venue = new PaperVenue(replay, {
    ackLatencyMs: config.paper.ackLatencyMs,
    store,
    onError: (error: unknown) => logger.error({ err: error }, 'paper venue failed'),
  });
  await venue.restore();
  return {
    replay,
    venue,
    start: () => replay.start(),
    stop: () => {
      replay.stop();
      venue.close?.();
    },
  };
}
