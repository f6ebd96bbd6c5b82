import type { IncomingMessage, Server } from 'node:http';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Principal } from '../../gateway/src/auth/principal.js';
import type { TokenVerifier } from '../../gateway/src/auth/token-verifier.js';
import { forPrincipal } from './aggregator.js';
import type { CockpitFrame, HelloMessage } from './frame.js';

export interface CockpitSocketOptions {
  readonly frameMs: number;
  readonly authTimeoutMs: number;
  /** A client whose send buffer holds more than this has frames skipped until it has read them. */
  readonly maxBufferedBytes: number;
  /** A client that has had frames skipped for this long is closed (4408). */
  readonly slowClientMs: number;
  readonly pingIntervalMs: number;
}

/** What a client's skipping state is kept in (see slowClientAction). */
export interface SkipState {
  skippingSince: number | null;
  skipped: number;
}

/**
 * Whether a frame goes to a client whose send buffer holds `bufferedBytes`: `send` while it is under
 * `maxBufferedBytes`; `skip` (the frame is not queued) while it is over, and `close` once frames have
 * been skipped for `slowClientMs` in a row. Updates `state`.
 */
export function slowClientAction(
  state: SkipState,
  bufferedBytes: number,
  now: number,
  options: Pick<CockpitSocketOptions, 'maxBufferedBytes' | 'slowClientMs'>,
): 'send' | 'skip' | 'close' {
  if (bufferedBytes <= options.maxBufferedBytes) {
    state.skippingSince = null;
    return 'send';
  }
  state.skipped++;
  state.skippingSince ??= now;
  return now - state.skippingSince >= options.slowClientMs ? 'close' : 'skip';
}

interface Client extends SkipState {
  readonly ws: WebSocket;
  principal: Principal | null;
  alive: boolean;
}

/**
 * The cockpit's WebSocket (`/ws`): authenticates each client with the gateway's own TokenVerifier (dev
 * issuer or OIDC, as the gateway is configured), then sends it every frame, cut down to its accounts. A
 * client that stops reading has frames skipped (never queued beyond `maxBufferedBytes`) and is closed
 * after `slowClientMs`; one that stops answering pings is dropped.
 */
export class CockpitSocket {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 });
  private readonly clients = new Set<Client>();
  private readonly ping: NodeJS.Timeout;

  constructor(
    server: Server,
    private readonly verifier: TokenVerifier,
    private readonly logger: Logger,
    private readonly options: CockpitSocketOptions,
  ) {
    server.on('upgrade', (req: IncomingMessage, socket, head) => {
      if (new URL(req.url ?? '/', 'http://monitor').pathname !== '/ws') {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
    this.ping = setInterval(() => this.heartbeat(), options.pingIntervalMs);
    this.ping.unref();
  }

  /** Clients connected and authenticated. */
  get size(): number {
    return [...this.clients].filter((c) => c.principal !== null).length;
  }

  private accept(ws: WebSocket): void {
    const client: Client = { ws, principal: null, skippingSince: null, skipped: 0, alive: true };
    this.clients.add(client);
    const timer = setTimeout(() => ws.close(4401, 'auth timeout'), this.options.authTimeoutMs);
    ws.on('pong', () => (client.alive = true));
    ws.on('close', () => {
      clearTimeout(timer);
      this.clients.delete(client);
    });
    ws.on('error', () => ws.terminate());
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (client.principal !== null) {
        return; // nothing else is expected; the kill switch goes over HTTP
      }
      clearTimeout(timer);
      void this.authenticate(client, isBinary ? '' : data.toString('utf8'));
    });
  }

  private async authenticate(client: Client, text: string): Promise<void> {
    let token: unknown;
    try {
      token = (JSON.parse(text) as { type?: unknown; token?: unknown }).token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || token === '') {
      client.ws.close(4400, 'expected {"type":"auth","token":...}');
      return;
    }
    try {
      const principal = await this.verifier.verify(token);
      client.principal = principal;
      const hello: HelloMessage = {
        type: 'hello',
        subject: principal.subject,
        roles: [...principal.roles],
        canHalt: principal.hasRole('risk') || principal.hasRole('admin'),
        frameMs: this.options.frameMs,
      };
      client.ws.send(JSON.stringify(hello));
      this.logger.info({ subject: principal.subject }, 'cockpit client connected');
    } catch {
      client.ws.close(4401, 'token refused');
    }
  }

  /** Sends the frame to every authenticated client that keeps up; skips (and in time closes) the others. */
  broadcast(frame: CockpitFrame, now: number): void {
    const texts = new Map<string, string>();
    for (const client of this.clients) {
      const principal = client.principal;
      if (principal === null || client.ws.readyState !== client.ws.OPEN) {
        continue;
      }
      const action = slowClientAction(client, client.ws.bufferedAmount, now, this.options);
      if (action === 'close') {
        this.logger.warn({ subject: principal.subject, skipped: client.skipped }, 'cockpit client not reading: closed');
        client.ws.terminate();
        this.clients.delete(client);
      }
      if (action !== 'send') {
        continue;
      }
      const key = principal.accounts === '*' ? '*' : [...principal.accounts].sort().join(',');
      let text = texts.get(key);
      if (text === undefined) {
        text = JSON.stringify(forPrincipal(frame, principal));
        texts.set(key, text);
      }
      client.ws.send(text);
    }
  }

  private heartbeat(): void {
    for (const client of this.clients) {
      if (!client.alive) {
        this.logger.warn({ subject: client.principal?.subject }, 'cockpit client not answering pings: dropped');
        client.ws.terminate();
        this.clients.delete(client);
        continue;
      }
      client.alive = false;
      client.ws.ping();
    }
  }

  close(): Promise<void> {
    clearInterval(this.ping);
    for (const client of this.clients) {
      client.ws.terminate();
    }
    this.clients.clear();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }
}
