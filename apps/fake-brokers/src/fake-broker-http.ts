import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocket, WebSocketServer } from 'ws';

/**
 * What the fake brokers' servers (Alpaca, Schwab) share of their HTTP and WebSocket plumbing. Each broker's
 * wire format (paths, headers, error bodies, frames) stays in its own server.
 */

/** A request's whole body parsed as JSON; null when it is empty. Throws SyntaxError when it is not JSON. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? null : (JSON.parse(text) as unknown);
}

/**
 * A seeded random source (mulberry32), uniform in [0, 1): the same seed gives the same sequence, so a test's
 * random faults can be replayed. Without a seed, Math.random.
 */
export function seededRandom(seed: number | null): () => number {
  if (seed === null) {
    return Math.random;
  }
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A non-empty JSON string, or null. */
export function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** Compares two strings in constant time (for tests that give the fake a fixed token). */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Starts `server` on `port` (0: any free one) and `host`; resolves with its `http://host:port` URL. */
export async function listenOn(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  return `http://${address.address}:${address.port}`;
}

/** Drops every stream socket and HTTP connection at once and stops `server` (a fake broker going away). */
export async function closeAll(server: Server, wss: WebSocketServer, sockets: Iterable<WebSocket>): Promise<void> {
  for (const socket of sockets) {
    socket.terminate();
  }
  wss.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
