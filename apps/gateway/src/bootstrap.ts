import 'reflect-metadata';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { defaultMarketDataSets } from '@gateway/brokers';
import { systemClock } from '@gateway/oms';
import { type DynamicModule, type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import pg from 'pg';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { getAbsoluteFSPath } from 'swagger-ui-dist';
import type { DataSource } from 'typeorm';
import { AccountsService } from './accounts/accounts.service.js';
import { AppModule, type GatewayDependencies } from './app.module.js';
import { DevIssuer } from './auth/dev-issuer.js';
import { DEV_ISSUER, TokenVerifier } from './auth/token-verifier.js';
import { unservedAccounts } from './accounts/environments.js';
import { httpLogging, NestLogger } from './common/http-logging.js';
import { createLogger } from './common/logger.js';
import { ProblemFilter } from './common/problem.filter.js';
import { requestIdMiddleware } from './common/request-id.middleware.js';
import { type GatewayConfig } from './config/config.js';
import { openKeyProvider } from './credentials/key-providers.js';
import { GatewayMetrics } from './health/metrics.js';
import { createDataSource, openDatabase, PendingMigrationsError } from './database/data-source.js';
import { createBrokerRegistry } from './market/broker-adapters.js';
import {
  createPaperVenue,
  hasInProcessPaperVenue,
  PAPER_VENUE_APPLICATION_NAME,
  PaperVenueStoreAdapter,
  sharedPaperVenueUrl,
} from './market/paper-venue.factory.js';
import { EventExportRelay } from './export/event-export.relay.js';
import { drainState } from './health/draining.js';
import { tracingMiddleware } from './health/tracing.js';
import { createRedis } from './redis/redis.provider.js';
import { StreamServer } from './stream/stream.server.js';

export const DEMO_ACCOUNT = 'paper-demo';

/** A start-up failure whose message is one line telling the operator what to do. */
export class StartupError extends Error {
  override name = 'StartupError';
}

export interface RunningGateway {
  readonly app: INestApplication;
  readonly url: string;
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly dataSource: DataSource;
  readonly issuer: DevIssuer;
  readonly demoAccountId: string | null;
  /**
   * Stops gracefully: readiness false at once, requests still answered for SHUTDOWN_DRAIN_MS (the load
   * balancer's time to notice), then `close()`: stream clients closed with 1012 and a resume hint,
   * in-flight requests finished, job workers stopped.
   */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** The application with its logging: `nestjs-pino` around the gateway's own module. */
@Module({})
class GatewayRootModule {
  static register(logger: Logger, deps: GatewayDependencies): DynamicModule {
    return {
      module: GatewayRootModule,
      imports: [LoggerModule.forRoot(httpLogging(logger)), AppModule.register(deps)],
      providers: [NestLogger],
    };
  }
}

/** Host and port of a DATABASE_URL or REDIS_URL (the scheme's default port when it names none). */
function endpointOf(url: string): { host: string; port: string } | null {
  try {
    const u = new URL(url);
    return { host: u.hostname, port: u.port || (u.protocol.startsWith('redis') ? '6379' : '5432') };
  } catch {
    return null;
  }
}

function describeEndpoint(url: string): string {
  const endpoint = endpointOf(url);
  return endpoint ? `${endpoint.host}:${endpoint.port}` : 'the configured address';
}

async function connectDatabase(config: GatewayConfig): Promise<DataSource> {
  try {
    return await openDatabase(config.databaseUrl, config.databaseMigrations, {
      maxConnections: config.databasePoolSize,
    });
  } catch (error) {
    if (error instanceof PendingMigrationsError) {
      throw new StartupError(error.message);
    }
    const code = (error as { code?: string }).code;
    const where = describeEndpoint(config.databaseUrl);
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH') {
      throw new StartupError(
        `PostgreSQL is not reachable at ${where} (DATABASE_URL). Start it, e.g. ` +
          `"pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start".`,
      );
    }
    if (code === '28P01' || code === '28000') {
      throw new StartupError(`PostgreSQL at ${where} refused the credentials in DATABASE_URL.`);
    }
    throw new StartupError(`PostgreSQL at ${where} failed: ${(error as Error).message}`);
  }
}

/**
 * Where the paper venue keeps its book: in this process, connections of its own (two: its saves run one
 * at a time) named apart from the gateway's, as a simulated broker's are; an HTTP venue keeps its own
 * book, and nothing is opened for it.
 */
async function connectPaperVenueStore(config: GatewayConfig, gateway: DataSource): Promise<DataSource> {
  if (!hasInProcessPaperVenue(config)) {
    return gateway;
  }
  const venue = createDataSource(config.databaseUrl, {
    applicationName: PAPER_VENUE_APPLICATION_NAME,
    maxConnections: 2,
    asynchronousCommit: !config.paperVenueSynchronousCommit,
  });
  return venue.initialize();
}

async function connectRedis(config: GatewayConfig, name: string, logger: Logger) {
  let connected = false;
  const redis = createRedis(config.redisUrl, name, (error) => {
    if (connected) {
      logger.warn({ err: error, connection: name }, 'Redis connection error; reconnecting');
    }
  });
  try {
    await redis.connect();
    await redis.ping();
    connected = true;
    return redis;
  } catch {
    redis.disconnect();
    // The hint starts Redis where REDIS_URL says it is.
    const endpoint = endpointOf(config.redisUrl) ?? { host: '127.0.0.1', port: '6379' };
    throw new StartupError(
      `Redis is not reachable at ${describeEndpoint(config.redisUrl)} (REDIS_URL). Start it, e.g. ` +
        `"redis-server --daemonize yes --bind ${endpoint.host} --port ${endpoint.port} --save '' --appendonly no".`,
    );
  }
}

/**
 * Refuses a PAPER_SPXW_DATE that the recorded SPXW file does not hold (the replay would load no option
 * quote and say nothing), naming the dates it does hold. A missing file is left to the replay's own error.
 */
function checkSpxwDate(config: GatewayConfig): void {
  const options = defaultMarketDataSets({ spxwDate: config.paper.spxwDate }).find(
    (set) => set.kind === 'lean_option_quote_bars',
  );
  const file = options ? join(config.paper.marketDataDir, options.file) : null;
  if (!options || file === null || !existsSync(file)) {
    return;
  }
  // The file's first column is the trade date, YYYYMMDD, under a header line.
  const dates = new Set(
    readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.slice(0, line.indexOf(',')))
      .filter((date) => /^\d{8}$/.test(date)),
  );
  if (!dates.has(options.date.replaceAll('-', ''))) {
    throw new StartupError(
      `PAPER_SPXW_DATE ${config.paper.spxwDate} is not in the recorded SPXW data (${options.file}); ` +
        `it holds ${[...dates].sort().join(', ')}.`,
    );
  }
}

/**
 * Starts the gateway: database (created and migrated), Redis, the dev issuer, the paper venue on real
 * market data, the HTTP API and the WebSocket stream. Throws StartupError with one clear line when a
 * dependency is missing.
 */
/**
 * The in-process paper venue's claim on the database: a session advisory lock on a connection of its
 * own, held for the process's life (a crash closes the connection and frees it). Refuses, with the fix,
 * when another live instance holds it.
 */
async function holdInProcessVenueLock(databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'paper-venue-claim' });
  client.on('error', () => undefined); // a lost claim connection: the venue keeps running (see README)
  await client.connect();
  const [row] = (
    await client.query<{ locked: boolean }>(
      `SELECT pg_try_advisory_lock(hashtext('gateway:in-process-paper-venue')) AS locked`,
    )
  ).rows;
  if (!row?.locked) {
    await client.end().catch(() => undefined);
    throw new StartupError(
      'another gateway instance with an in-process paper venue is running on this database (DATABASE_URL): ' +
        'instances must share one venue. Run it as its own process ("npm run venue") and start every instance ' +
        'with PAPER_VENUE_URL set to its URL.',
    );
  }
  return client;
}

export async function startGateway(config: GatewayConfig): Promise<RunningGateway> {
  if (sharedPaperVenueUrl(config) === null) {
    checkSpxwDate(config); // else the shared paper venue replays the data, with its own PAPER_SPXW_DATE
  }
  const logger = createLogger(config.logLevel, config.environments);
  const dataSource = await connectDatabase(config);
  const cleanup: (() => Promise<unknown>)[] = [() => dataSource.destroy()];
  try {
    if (hasInProcessPaperVenue(config) && config.paperVenueExclusive) {
      const held = await holdInProcessVenueLock(config.databaseUrl);
      cleanup.push(() => held.end().catch(() => undefined));
    }
    const unserved = await unservedAccounts(dataSource, config);
    if (unserved !== null) {
      throw new StartupError(unserved);
    }
    const redis = await connectRedis(config, 'gateway', logger);
    cleanup.push(() => redis.quit().catch(() => undefined));
    const redisSubscriber = await connectRedis(config, 'gateway-subscriber', logger);
    cleanup.push(() => redisSubscriber.quit().catch(() => undefined));
    // Always its own issuer name: with an OIDC AUTH_ISSUER its tokens are refused, never mistaken for the IdP's.
    const keyProvider = await openKeyProvider(config.credentials).catch((error: unknown) => {
      throw new StartupError(
        `broker credentials' key provider (KEY_PROVIDER=${config.credentials.keyProvider}): ${(error as Error).message}`,
      );
    });
    cleanup.push(() => keyProvider.close());
    const issuer = await DevIssuer.load(dataSource, DEV_ISSUER, config.auth.audience);
    const verifier = TokenVerifier.create(config.auth, issuer, logger);
    const paperStore = await connectPaperVenueStore(config, dataSource);
    if (paperStore !== dataSource) {
      // Last of all, after the gateway's own: the venue's book saves still queued at shutdown get through.
      cleanup.unshift(() => paperStore.destroy());
    }
    const paper = await createPaperVenue(config, new PaperVenueStoreAdapter(paperStore), logger).catch(
      (error: unknown) => {
        throw new StartupError(
          sharedPaperVenueUrl(config) === null
            ? `market data could not be loaded from ${config.paper.marketDataDir} (MARKET_DATA_DIR): ${(error as Error).message}`
            : `${(error as Error).message}. Start the paper venue ("npm run venue") at PAPER_VENUE_URL.`,
        );
      },
    );
    cleanup.push(() => paper.stop());
    const brokers = createBrokerRegistry(config, paper.venue, logger, async (accountId, brokerOrderId) => {
      // Brokers without a client order id (Schwab): whose order a broker order id is, after a restart.
      const rows: { id: string }[] = await dataSource.query(
        'SELECT id FROM orders WHERE account_id = $1 AND broker_order_id = $2 LIMIT 1',
        [accountId, brokerOrderId],
      );
      return rows[0]?.id ?? null;
    });
    // After the app has closed (the processor unsubscribed), before the paper venue stops.
    cleanup.push(() => brokers.close());
    // The broker-scoped clients now: an HTTP venue's report stream starts after its current last report,
    // before the start-up account pass lists its orders and fills (both idempotent).
    await brokers.open();

    // Nest's own messages and the request lines go through the process logger (common/http-logging.ts).
    const app = await NestFactory.create(
      GatewayRootModule.register(logger, {
        config,
        logger,
        dataSource,
        redis,
        redisSubscriber,
        verifier,
        brokers,
        marketData: paper.marketData,
        paperReplay: paper.replayControl,
        clock: systemClock,
        keyProvider,
      }),
      { bodyParser: false, bufferLogs: true },
    );
    app.useLogger(app.get(NestLogger));
    verifier.countFailuresIn(app.get(GatewayMetrics).authFailures);
    (app.getHttpAdapter().getInstance() as express.Express).disable('x-powered-by');
    app.use('/docs/assets', express.static(getAbsoluteFSPath(), { index: false }));
    const problems = new ProblemFilter(logger);
    app.useGlobalFilters(problems);
    // Draining: every answer closes its connection, so a keep-alive client's next request opens a new one,
    // which the load balancer (or, once the server has closed, the refused connection) sends elsewhere.
    app.use((_req: Request, res: Response, next: NextFunction) => {
      if (drainState.since !== null) {
        res.setHeader('connection', 'close');
      }
      next();
    });
    app.use(tracingMiddleware);
    app.use(requestIdMiddleware);
    const json = express.json({ limit: config.bodyLimitBytes, type: ['application/json', 'application/*+json'] });
    app.use((req: Request, res: Response, next: NextFunction) =>
      json(req, res, (error?: unknown) => (error ? problems.send(req, res, error) : next())),
    );
    await app.listen(config.port, config.host);
    const server = app.getHttpServer() as import('node:http').Server;
    app.get(StreamServer).attach(server);
    await paper.start();
    if (config.eventExport) {
      // Reads the event log only: the order path pays nothing for the export (export/event-export.relay.ts).
      const relay = new EventExportRelay(dataSource, config.eventExport, logger, app.get(GatewayMetrics).registry);
      relay.start();
      cleanup.push(() => relay.stop());
    }

    const demoAccountId =
      config.seedDemoAccount && config.brokers.paper !== undefined
        ? (await app.get(AccountsService).ensurePaperAccount(DEMO_ACCOUNT)).id
        : null;
    const address = server.address() as AddressInfo;
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    return {
      app,
      url: `http://${host}:${address.port}`,
      config,
      logger,
      dataSource,
      issuer,
      demoAccountId,
      drain: async () => {
        drainState.since ??= Date.now();
        logger.info({ drainMs: config.shutdownDrainMs }, 'draining: readiness is false; closing after the drain');
        await new Promise((resolve) => setTimeout(resolve, config.shutdownDrainMs));
      },
      close: async () => {
        drainState.since ??= Date.now();
        await app.close();
        for (const step of cleanup.reverse()) {
          await step();
        }
      },
    };
  } catch (error) {
    for (const step of cleanup.reverse()) {
      await step().catch(() => undefined);
    }
    throw error;
  }
}
