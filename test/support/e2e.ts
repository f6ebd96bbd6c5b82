import { expect } from 'vitest';
import type { DataSource } from 'typeorm';
import { type Api, eventually, type JsonResponse } from './http.js';
import { formatTime } from './market-data.js';

/**
 * Moves the paper replay (paused) forward to `time` (ms after midnight ET, or `HH:MM:SS[.mmm]`) through
 * the admin route, and checks the replay clock is there.
 */
export async function stepReplay(admin: Api, time: number | string): Promise<void> {
  const target = typeof time === 'number' ? formatTime(time) : time;
  const res = await admin.post('/v1/venues/paper/replay', { stepTo: target });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  expect(res.body.timeOfDay).toBe(target.length === 8 ? `${target}.000` : target);
  expect(res.body.paused).toBe(true);
}

/** Asserts an RFC 9457 problem answer with the status and the stable code; returns its body. */
export function expectProblem(res: JsonResponse, status: number, code: string): any {
  const body = res.body;
  expect({ status: res.status, code: body?.code }, JSON.stringify(body)).toEqual({ status, code });
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/problem\+json/);
  expect(body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, code });
  expect(typeof body.requestId).toBe('string');
  expect(body.requestId).not.toBe('');
  expect(body.requestId).toBe(res.headers.get('x-request-id'));
  return body;
}

/** Every event of the account, from GET /events (the record), paging until the end. */
export async function allEvents(api: Api, accountId: string): Promise<any[]> {
  const events: any[] = [];
  for (;;) {
    const after = events.length === 0 ? 0 : events[events.length - 1].seq;
    const res = await api.get(`/v1/accounts/${accountId}/events?after=${after}&limit=1000`);
    expect(res.status).toBe(200);
    events.push(...res.body.events);
    if (res.body.events.length < 1000) {
      return events;
    }
  }
}

/** Every order of the account, newest first, paging through `next`. */
export async function allOrders(api: Api, accountId: string): Promise<any[]> {
  const orders: any[] = [];
  let after: string | null = null;
  for (;;) {
    const res: JsonResponse = await api.get(
      `/v1/accounts/${accountId}/orders?status=all&limit=500${after ? `&after=${after}` : ''}`,
    );
    expect(res.status).toBe(200);
    orders.push(...res.body.orders);
    after = res.body.next ?? null;
    if (!after) {
      return orders;
    }
  }
}

/** Waits until GET of the order satisfies `done`; returns the order. */
export function orderWhen(
  api: Api,
  accountId: string,
  orderId: string,
  done: (o: any) => boolean,
  what = 'order state',
): Promise<any> {
  return eventually(
    async () => {
      const res = await api.get(`/v1/accounts/${accountId}/orders/${orderId}`);
      return res.status === 200 && done(res.body) ? res.body : null;
    },
    10_000,
    `${what} of ${orderId}`,
  );
}

/** One integer from SQL (a count) on the test database. */
export async function sqlCount(db: DataSource, sql: string, params: unknown[] = []): Promise<number> {
  const rows: { n: string | number }[] = await db.query(sql, params);
  return Number(rows[0]!.n);
}

/** Asserts events have gapless consecutive seqs (each previous + 1) starting at `first`. */
export function expectConsecutive(events: readonly any[], first: number): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => first + i));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
