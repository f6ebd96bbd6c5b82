import {
  applyReplayCommand,
  type MarketDataFeed,
  MarketReplay,
  PaperVenue,
  type PaperVenueStore,
  SqlPaperVenueStore,
  type ReplayCommand,
  type ReplayState,
  VenueMarketFeed,
  wireClockSchema,
} from '@gateway/brokers';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { ApiError } from '../common/api-error.js';
import type { GatewayConfig } from '../config/config.js';
import { wsStreamConnector } from './ws-stream-connector.js';

/**
 * What the replay control route does with the replay: the gateway's own, or the shared paper venue's.
 * `update` throws RangeError for a time outside the replay window.
 */
export interface PaperReplayControl {
  state(): Promise<ReplayState>;
  update(command: ReplayCommand): Promise<ReplayState>;
}

/** The control of a replay in this process. */
export class LocalReplayControl implements PaperReplayControl {
  constructor(private readonly replay: MarketReplay) {}

  state(): Promise<ReplayState> {
    return Promise.resolve(this.replay.state());
  }

  update(command: ReplayCommand): Promise<ReplayState> {
    applyReplayCommand(this.replay, command);
    return Promise.resolve(this.replay.state());
  }
}

/** How long a control command through the gateway waits for the venue's market to be mirrored, ms. */
const MIRROR_WAIT_MS = 2_000;

/**
 * The control of the shared paper venue's replay, at the venue (`GET|POST /v1/test/replay` of the
 * paper-venue process): every instance mirroring the venue sees the result. After a command, waits (up to
 * MIRROR_WAIT_MS) until this instance's mirror has the venue's answered clock, so that a quote read here
 * next is of the new time. The venue unreachable → 503 `venue.unavailable`; its refusal of a time outside
 * the window → RangeError (422 `replay.out_of_window` at the route).
 */
export class VenueReplayControl implements PaperReplayControl {
  constructor(
    private readonly baseUrl: string,
    private readonly feed: VenueMarketFeed,
  ) {}

  state(): Promise<ReplayState> {
    return this.call('GET');
  }

  async update(command: ReplayCommand): Promise<ReplayState> {
    const state = await this.call('POST', command);
    await this.feed.waitForClock(state, MIRROR_WAIT_MS);
    return state;
  }

  private async call(method: 'GET' | 'POST', body?: ReplayCommand): Promise<ReplayState> {
    let res: Response;
    let answer: unknown;
    try {
      res = await fetch(`${this.baseUrl.replace(/\/+$/, '')}/v1/test/replay`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(5_000),
      });
      answer = await res.json();
    } catch {
      throw new ApiError(
        503,
        'venue.unavailable',
        'Paper venue unavailable',
        'The shared paper venue (PAPER_VENUE_URL) did not answer; its replay is controlled there.',
      );
    }
    if (res.status === 400) {
      const message = (answer as { message?: unknown } | null)?.message;
      throw new RangeError(typeof message === 'string' ? message : 'the paper venue refused the command');
    }
    const state = wireClockSchema.safeParse(answer);
    if (res.status !== 200 || !state.success) {
      throw new ApiError(
        502,
        'venue.failed',
        'Paper venue failed',
        `The shared paper venue answered the replay command with HTTP ${res.status}.`,
      );
    }
    return state.data;
  }
}

/** The `application_name` of the in-process paper venue's connections to the gateway's database. */
export const PAPER_VENUE_APPLICATION_NAME = 'paper-venue';

/**
 * The paper venue's book in the gateway's database (its own table: the venue is a simulated broker,
 * its state is not the gateway's), so working paper orders survive a gateway restart.
 */
export class PaperVenueStoreAdapter extends SqlPaperVenueStore {
  constructor(dataSource: DataSource) {
    super((sql, params) => dataSource.query(sql, params ? [...params] : undefined));
  }
}

export interface PaperSetup {
  /**
   * The quotes of the deployment (MARKET_DATA): the gateway's own replay, or, when the paper broker is a
   * paper-venue process, that venue's market mirrored (VenueMarketFeed).
   */
  readonly marketData: MarketDataFeed;
  /** What the replay control route acts on: the gateway's replay, or the venue's at the venue. */
  readonly replayControl: PaperReplayControl;
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
 * The paper-venue process whose market this gateway mirrors: the `paper` broker's URL when a venue
 * process serves it (`paper-http`, PAPER_VENUE_URL), else null (the gateway replays the data itself).
 */
export function sharedPaperVenueUrl(config: GatewayConfig): string | null {
  const paper = config.brokers.paper;
  return paper?.adapter === 'paper-http' ? paper.url : null;
}

/**
 * Sets up the deployment's market and paper venue. When the `paper` broker is a paper-venue process
 * (sharedPaperVenueUrl), the gateway loads no market data: its quotes, risk checks, stream quotes,
 * instruments and cockpit market panels follow the venue's market (VenueMarketFeed, loaded here before
 * the app starts; throws Error when the venue's market does not answer), so every instance sharing the
 * venue shows one market and the venue's fill prices; the replay control route acts on the venue's
 * replay. Otherwise it loads the real market data into its own replay and sets up the paper venue in
 * this process (its book in the gateway's database) when a broker uses it; a broker served by a
 * paper-venue process over HTTP then keeps its own book. Those clients are the broker registry's
 * (market/broker-adapters.ts).
 */
export async function createPaperVenue(
  config: GatewayConfig,
  store: PaperVenueStore,
  logger: Logger,
): Promise<PaperSetup> {
  const sharedUrl = sharedPaperVenueUrl(config);
  if (sharedUrl !== null && !hasInProcessPaperVenue(config)) {
    const feed = new VenueMarketFeed({
      baseUrl: sharedUrl,
      connect: wsStreamConnector,
      onError: (error) => logger.warn({ err: error }, "paper venue's market feed"),
    });
    await feed.start();
    return {
      marketData: feed,
      replayControl: new VenueReplayControl(sharedUrl, feed),
      venue: null,
      start: () => Promise.resolve(),
      stop: () => {
        feed.close();
        return Promise.resolve();
      },
    };
  }
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
      marketData: replay,
      replayControl: new LocalReplayControl(replay),
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
    marketData: replay,
    replayControl: new LocalReplayControl(replay),
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
