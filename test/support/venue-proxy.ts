import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * An HTTP proxy in front of the paper venue process that can make its order listing (`GET /v1/orders`,
 * what an account reconciliation pass asks first) slow or failing, while everything else passes (the
 * venue's market stream, a WebSocket upgrade, included).
 */
export interface VenueProxy {
  readonly url: string;
  /** `pass`: forward; `slow`: the listing answers after `slowMs`; `down`: it answers 503. */
  mode: 'pass' | 'slow' | 'down';
  slowMs: number;
  close(): Promise<void>;
}

export async function startVenueProxy(venueUrl: string): Promise<VenueProxy> {
  const target = new URL(venueUrl);
  const state = { mode: 'pass' as VenueProxy['mode'], slowMs: 3_000 };
  const server: Server = createServer((req, res) => {
    const listing = req.method === 'GET' && (req.url ?? '').startsWith('/v1/orders?');
    if (listing && state.mode === 'down') {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'unavailable', message: 'venue down for maintenance' }));
      return;
    }
    const forward = () => {
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    };
    if (listing && state.mode === 'slow') {
      setTimeout(forward, state.slowMs);
    } else {
      forward();
    }
  });
  const closeTunnels = tunnelUpgrades(server, target);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return state.mode;
    },
    set mode(mode) {
      state.mode = mode;
    },
    get slowMs() {
      return state.slowMs;
    },
    set slowMs(ms) {
      state.slowMs = ms;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        closeTunnels();
      }),
  };
}

/**
 * Pipes the HTTP upgrades `server` receives (the venue's market stream, a WebSocket) through to `target`
 * as raw bytes; returns what ends every tunnel still open (for the proxy's close).
 */
export function tunnelUpgrades(server: Server, target: URL): () => void {
  const tunnels = new Set<Duplex | Socket>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const upstream = connect(Number(target.port), target.hostname, () => {
      const headers: string[] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        headers.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`);
      }
      upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers.join('')}\r\n`);
      upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    for (const end of [socket, upstream]) {
      tunnels.add(end);
      end.on('error', () => undefined);
      end.on('close', () => {
        tunnels.delete(end);
        socket.destroy();
        upstream.destroy();
      });
    }
  });
  return () => {
    for (const end of tunnels) {
      end.destroy();
    }
  };
}
