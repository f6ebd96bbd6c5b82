import type { PaperOrderRecord } from './paper-order-record.js';
import type { PaperVenueStore } from './paper-venue-store.js';

/** Runs one SQL statement with `$n` parameters and answers its rows (a TypeORM DataSource, a pg pool...). */
export type SqlQuery = (sql: string, params?: readonly unknown[]) => Promise<unknown[]>;

/**
 * The paper venue's book in PostgreSQL, table `paper_venue_orders` (the initial migration's): one row per
 * order, the whole record as JSON, upserted by broker order id. The venue is a simulated broker and its
 * book is its own state, not the gateway's, so it has a table of its own wherever it runs: inside the
 * gateway (on the gateway's connections) or as the paper-venue process (PAPER_VENUE_DATABASE_URL).
 */
export class SqlPaperVenueStore implements PaperVenueStore {
  constructor(private readonly query: SqlQuery) {}

  async load(): Promise<PaperOrderRecord[]> {
    const rows = (await this.query('SELECT record FROM paper_venue_orders ORDER BY broker_order_id')) as {
      record: PaperOrderRecord;
    }[];
    return rows.map((r) => r.record);
  }

  async save(record: PaperOrderRecord): Promise<void> {
    await this.query(
      `INSERT INTO paper_venue_orders (broker_order_id, client_order_id, record, updated_at)
       VALUES ($1, $2, $3::jsonb, now())
       ON CONFLICT (broker_order_id)
       DO UPDATE SET client_order_id = EXCLUDED.client_order_id, record = EXCLUDED.record, updated_at = now()`,
      [record.brokerOrderId, record.clientOrderId, JSON.stringify(record)],
    );
  }
}

/**
 * How the paper venue's book commits (in the gateway's process and in its own): `synchronous_commit = off`
 * unless PAPER_VENUE_SYNCHRONOUS_COMMIT=true. The venue stands in for a broker, and its two saves per
 * order would otherwise be two more fsyncs on every order's path. What it risks is small and bounded:
 * a process crash (the gateway's, the venue's) loses nothing, the commit being in the server's WAL
 * buffers already; only a crash of the PostgreSQL server itself can lose the book's last commits (at
 * most `wal_writer_delay` × 3, 600 ms by default). And since the WAL is flushed in order, any durable
 * commit after them, such as the gateway recording the venue's answer, makes them durable too: the
 * gateway never holds a venue order id the venue's book lost. Only what the venue did after the
 * gateway's last commit (a fill not yet reported) can be lost, and that the gateway never learnt of.
 * Source: PostgreSQL 15 manual, 30.4 "Asynchronous Commit".
 */
export const VENUE_BOOK_COMMIT = {
  options: '-c synchronous_commit=off',
} as const;
