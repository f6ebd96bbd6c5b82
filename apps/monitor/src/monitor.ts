import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response } from 'express';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { TokenVerifier } from '../../gateway/src/auth/token-verifier.js';
import type { GatewayConfig } from '../../gateway/src/config/config.js';
import { type GatewaySnapshot, SNAPSHOT_CHANNEL } from '../../gateway/src/monitoring/snapshot.js';
import { Aggregator } from './aggregator.js';
import { CockpitSocket } from './cockpit-socket.js';

/** The built cockpit (`npm run build:cockpit`): dist/cockpit beside dist/apps. */
export const COCKPIT_DIR = fileURLToPath(new URL('../../../cockpit/', import.meta.url));
/** How often every client gets a frame, ms (at least 4 a second, as the cockpit's charts need). */
const FRAME_MS = 250;
/** The kill switch's forward to the gateway is given up after this (the gateway's halt commits or not). */
const FORWARD_TIMEOUT_MS = 10_000;

export interface RunningMonitor {
  readonly url: string;
  readonly aggregator: Aggregator;
  close(): Promise<void>;
}

/**
 * The monitoring service (README, "Cockpit"): subscribes to every gateway instance's snapshots on Redis
 * (`<REDIS_PREFIX>monitor:snapshot`; while Redis is down it keeps reconnecting and resubscribes), keeps
 * them in an Aggregator, serves the built cockpit and its WebSocket (`/ws`), and forwards the kill switch
 * (`POST|DELETE /api/kill-switch`) to the gateway's `/v1/kill-switch` with the operator's own bearer
 * token: it holds no credentials of its own and never talks to a broker.
 */
export async function startMonitor(
  config: GatewayConfig,
  verifier: TokenVerifier,
  logger: Logger,
): Promise<RunningMonitor> {
  const aggregator = new Aggregator();
  const subscriber = new Redis(config.redisUrl, {
    connectionName: 'monitor-subscriber',
    lazyConnect: true,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  let lastRedisError = 0;
  subscriber.on('error', (error: Error) => {
    if (Date.now() - lastRedisError > 10_000) {
      lastRedisError = Date.now();
      logger.warn({ detail: error.message }, 'monitor: Redis unavailable; reconnecting');
    }
  });
  const channel = `${config.redisPrefix}${SNAPSHOT_CHANNEL}`;
  subscriber.on('message', (_channel: string, text: string) => {
    try {
      const snapshot = JSON.parse(text) as GatewaySnapshot;
      if (snapshot.v === 1 && typeof snapshot.instance === 'string') {
        aggregator.ingest(snapshot, Date.now());
      }
    } catch {
      // not a snapshot: ignored
    }
  });
  subscriber.connect().catch(() => undefined);
  void subscriber.subscribe(channel).catch((error: unknown) => logger.warn({ err: error }, 'monitor: not subscribed'));

  const app = express();
  app.disable('x-powered-by');
  /** Cockpit clients connected and authenticated (the socket is made once the server listens). */
  let cockpitClients = () => 0;
  app.get('/api/health', (_req, res) => {
    res.json({
      status: 'ok',
      instancesUp: aggregator.upCount(Date.now()),
      redis: subscriber.status,
      cockpitClients: cockpitClients(),
    });
  });
  app.use('/api/kill-switch', express.json({ limit: '4kb' }));
  /** 502 `monitor.gateway_unreachable`: the gateway did not answer a forwarded call (`more` adds what it means). */
  const gatewayUnreachable = (res: Response, more?: string) =>
    res
      .status(502)
      .type('application/problem+json')
      .json({
        type: 'about:blank',
        title: 'Gateway unreachable',
        status: 502,
        code: 'monitor.gateway_unreachable',
        detail: `The gateway at ${config.monitor.gatewayUrl} did not answer${more ? `; ${more}` : '.'}`,
      });
  const forward = (method: 'POST' | 'DELETE') => async (req: Request, res: Response) => {
    const authorization = req.headers.authorization;
    if (!authorization) {
      res.status(401).type('application/problem+json').json({
        type: 'about:blank',
        title: 'Unauthenticated',
        status: 401,
        code: 'auth.unauthenticated',
        detail: 'The kill switch needs your bearer token.',
      });
      return;
    }
    try {
      const answer = await fetch(`${config.monitor.gatewayUrl}/v1/kill-switch`, {
        method,
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify(req.body ?? {}),
        signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
      });
      res.status(answer.status).type(answer.headers.get('content-type') ?? 'application/json');
      const requestId = answer.headers.get('x-request-id');
      if (requestId) {
        res.setHeader('x-request-id', requestId);
      }
      res.send(await answer.text());
    } catch (error) {
      logger.error({ detail: (error as Error).message }, 'monitor: kill switch not forwarded');
      gatewayUnreachable(res, 'nothing is known to be halted. Use its REST kill switch directly.');
    }
  };
  // Read-only gateway reads the Accounts panel makes with the operator's own token (the gateway decides
  // who may read them): an account's reconciliation passes, and the audit tail.
  const read = (path: (req: Request) => string) => async (req: Request, res: Response) => {
    const authorization = req.headers.authorization;
    if (!authorization) {
      res.status(401).type('application/problem+json').json({
        type: 'about:blank',
        title: 'Unauthenticated',
        status: 401,
        code: 'auth.unauthenticated',
        detail: 'Gateway reads need your bearer token.',
      });
      return;
    }
    const query = new URLSearchParams();
    for (const key of ['limit', 'after']) {
      const value = req.query[key];
      if (typeof value === 'string' && /^[0-9A-Za-z:_-]{1,64}$/.test(value)) {
        query.set(key, value);
      }
    }
    try {
      const answer = await fetch(`${config.monitor.gatewayUrl}${path(req)}${query.size > 0 ? `?${query}` : ''}`, {
        headers: { authorization },
        signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
      });
      res.status(answer.status).type(answer.headers.get('content-type') ?? 'application/json');
      res.send(await answer.text());
    } catch (error) {
      logger.warn({ detail: (error as Error).message }, 'monitor: gateway read not forwarded');
      gatewayUnreachable(res);
    }
  };
  app.get(
    '/api/accounts/:accountId/reconciliation',
    (req, res) =>
      void read((r) => `/v1/accounts/${encodeURIComponent(String(r.params.accountId))}/reconciliation`)(req, res),
  );
  app.get('/api/audit', (req, res) => void read(() => '/v1/audit')(req, res));
  app.post('/api/kill-switch', (req, res) => void forward('POST')(req, res));
  app.delete('/api/kill-switch', (req, res) => void forward('DELETE')(req, res));
  if (existsSync(COCKPIT_DIR)) {
    app.use(express.static(COCKPIT_DIR, { index: 'index.html' }));
  } else {
    app.get('/', (_req, res) => {
      res.status(503).type('text/plain').send('The cockpit is not built: run "npm run build:cockpit".\n');
    });
  }

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.monitor.port, config.monitor.host, () => resolve(s));
    s.once('error', reject);
  });
  const socket = new CockpitSocket(server, verifier, logger, {
    frameMs: FRAME_MS,
    authTimeoutMs: config.ws.authTimeoutMs,
    maxBufferedBytes: 512 * 1024,
    slowClientMs: config.monitor.slowClientMs,
    pingIntervalMs: config.ws.pingIntervalMs,
  });
  cockpitClients = () => socket.size;
  const ticker = setInterval(() => {
    const now = Date.now();
    socket.broadcast(aggregator.frame(now), now);
  }, FRAME_MS);
  const address = server.address() as AddressInfo;
  const host = config.monitor.host === '0.0.0.0' || config.monitor.host === '::' ? '127.0.0.1' : config.monitor.host;
  return {
    url: `http://${host}:${address.port}`,
    aggregator,
    close: async () => {
      clearInterval(ticker);
      await socket.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      subscriber.disconnect();
    },
  };
}
