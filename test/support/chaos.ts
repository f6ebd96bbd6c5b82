import { OPEN_STATUSES as OMS_OPEN_STATUSES, UNCERTAIN_STATUSES as OMS_UNCERTAIN_STATUSES } from '@gateway/oms';
import { expect } from 'vitest';
import { type Api, type JsonResponse } from './http.js';
import { D } from './market-data.js';
import type { VenueProcess } from './venue-process.js';

/*
 * Helpers of the chaos e2e tests (crash.test.ts, multi-instance.test.ts): seeded randomness, requests
 * that may fail without throwing, and the venue's and the gateway's records read whole.
 */

/** Statuses whose outcome is not settled (libs/oms, ARCHITECTURE.md "Placing an order", step 5), as a list. */
export const UNCERTAIN_STATUSES: readonly string[] = [...OMS_UNCERTAIN_STATUSES];
/** Statuses of an order that may still trade (libs/oms), as a list. */
export const OPEN_STATUSES: readonly string[] = [...OMS_OPEN_STATUSES];

/** A small seeded PRNG (mulberry32), so that a failing run can be replayed with its seed. */
export class SeededRandom {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) {
      throw new Error('pick from an empty list');
    }
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** A new generator whose sequence depends only on this one's seed and `salt` (one per concurrent actor). */
  fork(salt: number): SeededRandom {
    return new SeededRandom((Math.imul(this.seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(salt + 1, 0xc2b2ae35)) >>> 0);
  }
}

/** The seed from `name` in the environment (so a failure can be replayed), else a fresh one. */
export function seedFrom(name: string): number {
  const given = process.env[name];
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isInteger(seed)) {
      throw new Error(`${name} must be an integer, got ${JSON.stringify(given)}`);
    }
    return seed >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

/** One HTTP exchange that may fail: an answer, or why there was none (refused, reset, timeout). */
export type Attempt = ({ kind: 'answered' } & JsonResponse) | { kind: 'failed'; reason: string };

/**
 * A JSON request that never throws: the answer (any status), or `failed` when the connection was
 * refused or reset or no answer came within `timeoutMs`.
 */
export async function attempt(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 20_000,
): Promise<Attempt> {
  try {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { kind: 'answered', status: res.status, headers: res.headers, body: parsed };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { kind: 'failed', reason: cause?.code ?? cause?.message ?? (error as Error).message };
  }
}

/** Every execution of the account (GET /executions, paging by the last id). */
export async function allExecutions(api: Api, accountId: string): Promise<any[]> {
  const executions: any[] = [];
  for (;;) {
    const after = executions.length === 0 ? '' : `&after=${executions[executions.length - 1].id}`;
    const res = await api.get(`/v1/accounts/${accountId}/executions?limit=1000${after}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    executions.push(...res.body.executions);
    if (res.body.executions.length < 1000) {
      return executions;
    }
  }
}

/** The venue's every order (its book and the done ones), by the venue's `GET /v1/orders?since=0`. */
export async function venueOrders(venue: VenueProcess): Promise<any[]> {
  const res = await venue.call('GET', '/v1/orders?since=0');
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** The venue's every fill, in the order they happened (`GET /v1/fills?since=0`). */
export async function venueFills(venue: VenueProcess): Promise<any[]> {
  const res = await venue.call('GET', '/v1/fills?since=0');
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** The values that occur more than once, with their counts. */
export function duplicates(values: readonly string[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) {
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].filter(([, n]) => n > 1));
}

/** Signed quantity of a fill: buys +, sells −. */
export function signed(side: string, quantity: string): InstanceType<typeof D> {
  return side === 'buy' ? new D(quantity) : new D(quantity).negated();
}

/** Net quantity per symbol of fills (`{symbol, side, quantity}`), zero positions left out, as decimal strings. */
export function netBySymbol(
  fills: readonly { symbol: string; side: string; quantity: string }[],
): Record<string, string> {
  const net = new Map<string, InstanceType<typeof D>>();
  for (const f of fills) {
    net.set(f.symbol, (net.get(f.symbol) ?? new D(0)).plus(signed(f.side, f.quantity)));
  }
  return Object.fromEntries([...net].filter(([, q]) => !q.isZero()).map(([s, q]) => [s, q.toFixed()]));
}

/** A count per value of `key`, sorted by value, for reports. */
export function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const k = key(item);
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}
