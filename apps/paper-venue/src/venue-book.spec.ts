import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { loadPaperVenueConfig, type PaperVenueProcess, startPaperVenueProcess } from './server.js';

/**
 * The paper venue process with its book in PostgreSQL (PAPER_VENUE_DATABASE_URL): a resting order and
 * a fill made before a restart are there after it, at the same broker order id, as are the positions.
 */
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const start = (databaseUrl: string): Promise<PaperVenueProcess> =>
  startPaperVenueProcess(
    loadPaperVenueConfig({
      PORT: '0',
      PAPER_SPEED: '0',
      PAPER_START_TIME: '09:30:05',
      PAPER_ACK_LATENCY_MS: '0',
      PAPER_VENUE_DATABASE_URL: databaseUrl,
    }),
  );

async function call(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

const order = (clientOrderId: string, fields: Record<string, unknown>) => ({
  clientOrderId,
  symbol: 'SPY',
  side: 'buy',
  timeInForce: 'day',
  quantity: '3',
  stopPrice: null,
  ...fields,
});

describe('paper venue process, book in PostgreSQL', () => {
  it('keeps its resting orders, fills and positions across a restart', async () => {
    let venue = await start(db.url);
    const resting = await call(
      venue.server.url,
      'POST',
      '/v1/orders',
      order('book-rest', { type: 'limit', limitPrice: '1.00' }),
    );
    expect(resting.status, JSON.stringify(resting.body)).toBe(201);
    const filled = await call(
      venue.server.url,
      'POST',
      '/v1/orders',
      order('book-fill', { type: 'market', limitPrice: null }),
    );
    expect(filled.status, JSON.stringify(filled.body)).toBe(201);
    const positionsBefore = (await call(venue.server.url, 'GET', '/v1/positions')).body;
    expect(JSON.stringify(positionsBefore)).toContain('SPY');
    await venue.close();

    venue = await start(db.url);
    try {
      const found = await call(venue.server.url, 'GET', '/v1/orders:by_client_order_id?client_order_id=book-rest');
      expect(found.status).toBe(200);
      expect(found.body).toMatchObject({ brokerOrderId: resting.body.brokerOrderId, status: 'new' });
      expect((await call(venue.server.url, 'GET', '/v1/positions')).body).toEqual(positionsBefore);
      // The restored order still works: it can be canceled.
      const canceled = await call(
        venue.server.url,
        'DELETE',
        `/v1/orders/${resting.body.brokerOrderId}?client_order_id=book-rest`,
      );
      expect(canceled.status, JSON.stringify(canceled.body)).toBeLessThan(300);
    } finally {
      await venue.close();
    }
  });

  it('refuses to start on a database without the migrations, naming the fix', async () => {
    const url = new URL(db.url);
    url.pathname = '/postgres';
    await expect(start(url.toString())).rejects.toThrow(/paper_venue_orders: run the migrations first/);
  });
});
