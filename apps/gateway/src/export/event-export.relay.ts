import {
  connect,
  type JetStreamClient,
  type JetStreamManager,
  JSONCodec,
  type NatsConnection,
  nanos,
  StorageType,
} from 'nats';
import pg from 'pg';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { EventExportOptions } from '../config/config.js';
import { OrderEventRepository } from '../orders/persistence/order-event.repository.js';

/** Events of one account published per round before the cursor is written. */
const BATCH = 500;
/** Accounts published side by side (each one's events stay in order). */
const PARALLEL_ACCOUNTS = 8;
/** Session-level advisory lock: the instance holding it is the one relay. */
const LEADER_LOCK = `SELECT pg_try_advisory_lock(hashtext('gateway:event-export')) AS locked`;
/** What the order events' stream holds: the order events only (`{ accountId, seq, … }`, API.md). */
const ORDER_SUBJECTS = ['gateway.*.*.orders'];
/** What the control stream holds: the outbox's trading-state changes and reconciliation breaks. */
const CONTROL_SUBJECTS = ['gateway.*.*.trading_state', 'gateway.*.*.reconciliation'];

interface Behind {
  readonly id: string;
  readonly environment: string;
  readonly lastSeq: number;
  readonly publishedSeq: number;
}

/**
 * Publishes every order event to NATS JetStream, on `gateway.<environment>.<accountId>.orders`, with
 * `Nats-Msg-Id` = `<accountId>:<seq>`, in `seq` order per account, at least once (README, "Exporting
 * events"). The outbox is the event log itself: each event is written in the transaction that records
 * the change, so the order path pays nothing for the export; the relay reads what lies beyond each
 * account's `event_exports.published_seq` (the account row's `last_seq` says which accounts have any),
 * publishes one event at a time per account, waits for JetStream's acknowledgement, and only then moves
 * the cursor. A crash after the broker stored an event but before the cursor moved republishes it with
 * the same id: JetStream's duplicate window drops it, and a consumer de-duplicates by (accountId, seq)
 * as a stream client does. Trading-state changes (the kill switch among them) and reconciliation breaks
 * are written to `export_outbox` in the transactions that record them; the relay publishes those rows
 * first each round, in `id` order, and deletes each once acknowledged. NATS down: nothing moves, the lag grows, the alert fires after
 * `lagAlertMs`; the relay reconnects by itself.
 *
 * Exactly one relay publishes at a time across instances: the one holding a PostgreSQL session
 * advisory lock, on a connection of its own. The others stand by and take over within a poll once the
 * holder's connection ends (a crash closes it). A relay that loses its connection stops publishing at
 * once; one already in flight may overlap a new holder's first events, which the ids de-duplicate.
 */
export class EventExportRelay {
  private readonly events: OrderEventRepository;
  private readonly codec = JSONCodec();
  private readonly lag: Gauge;
  private readonly published: Counter;
  private readonly leaderGauge: Gauge;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private lock: pg.Client | null = null;
  private nats: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private lagSince: number | null = null;
  private alerted = false;
  private lastFailure = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: EventExportOptions,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.events = new OrderEventRepository(dataSource);
    this.lag = new Gauge({
      name: 'gateway_event_export_lag_events',
      help: 'Events recorded but not yet confirmed by the message broker: order events of all accounts and outbox messages (0 on a standby relay)',
      registers: [registry],
    });
    this.published = new Counter({
      name: 'gateway_event_export_published_total',
      help: 'Events published to the message broker and acknowledged by it (order events and outbox messages)',
      registers: [registry],
    });
    this.leaderGauge = new Gauge({
      name: 'gateway_event_export_leader',
      help: '1 when this process is the relay publishing the events, 0 when it stands by',
      registers: [registry],
    });
  }

  start(): void {
    const tick = (): void => {
      this.running = this.round()
        .catch((error: unknown) => this.failed(error))
        .finally(() => {
          this.running = null;
          if (!this.stopped) {
            this.timer = setTimeout(tick, this.options.pollMs);
          }
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) {
      clearTimeout(this.timer);
    }
    await this.running;
    await this.nats?.close().catch(() => undefined);
    await this.lock?.end().catch(() => undefined);
    this.leaderGauge.set(0);
  }

  /** One round: be the leader (or stand by), then publish what every account has beyond its cursor. */
  private async round(): Promise<void> {
    if (!(await this.lead())) {
      this.lag.set(0);
      return;
    }
    const behind = await this.accountsBehind();
    const outboxed = await this.outboxCount();
    this.observeLag(behind.reduce((sum, a) => sum + (a.lastSeq - a.publishedSeq), 0) + outboxed);
    if (behind.length === 0 && outboxed === 0) {
      return;
    }
    const js = await this.jetStream();
    await this.publishOutbox(js);
    const queue = [...behind];
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL_ACCOUNTS, queue.length) }, async () => {
        for (let account = queue.shift(); account; account = queue.shift()) {
          await this.publishAccount(js, account);
        }
      }),
    );
    this.observeLag(
      (await this.accountsBehind()).reduce((sum, a) => sum + (a.lastSeq - a.publishedSeq), 0) +
        (await this.outboxCount()),
    );
  }

  private async lead(): Promise<boolean> {
    if (this.lock) {
      return true;
    }
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      application_name: 'event-export',
      connectionTimeoutMillis: 5_000,
    });
    client.on('error', () => undefined); // 'end' follows; handled there
    await client.connect();
    const [row] = (await client.query<{ locked: boolean }>(LEADER_LOCK)).rows;
    if (!row?.locked) {
      await client.end().catch(() => undefined);
      return false;
    }
    client.once('end', () => {
      if (this.lock === client) {
        this.lock = null;
        this.leaderGauge.set(0);
        this.logger.warn('event export: the leader connection ended; this relay stops publishing');
      }
    });
    this.lock = client;
    this.leaderGauge.set(1);
    this.logger.info({ stream: this.options.stream }, 'event export: this process relays the order events');
    return true;
  }

  private async jetStream(): Promise<JetStreamClient> {
    if (this.js && this.nats && !this.nats.isClosed()) {
      return this.js;
    }
    const nc = await connect({
      servers: this.options.natsUrl,
      name: 'gateway-event-export',
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      timeout: 5_000,
    });
    const jsm = await nc.jetstreamManager();
    await this.ensureStream(jsm, this.options.stream, ORDER_SUBJECTS);
    await this.ensureStream(jsm, this.options.controlStream, CONTROL_SUBJECTS);
    this.nats = nc;
    this.js = nc.jetstream({ timeout: 5_000 });
    return this.js;
  }

  /**
   * Creates the stream `name` over `subjects` when it is missing (file storage, the duplicate window).
   * Refused ("subjects overlap with an existing stream") when another stream already holds one of them:
   * the round fails with that message until EVENT_EXPORT_STREAM / EVENT_EXPORT_CONTROL_STREAM name it.
   */
  private async ensureStream(jsm: JetStreamManager, name: string, subjects: string[]): Promise<void> {
    const info = await jsm.streams.info(name).catch(() => null);
    if (info === null) {
      await jsm.streams.add({
        name,
        subjects,
        storage: StorageType.File,
        duplicate_window: nanos(this.options.duplicateWindowMs),
      });
    }
  }

  private async accountsBehind(): Promise<Behind[]> {
    const rows = await this.dataSource.query<
      { id: string; environment: string; last_seq: string; published_seq: string }[]
    >(
      `SELECT a.id, a.environment, a.last_seq, COALESCE(e.published_seq, 0) AS published_seq
         FROM accounts a LEFT JOIN event_exports e ON e.account_id = a.id
        WHERE a.last_seq > COALESCE(e.published_seq, 0)`,
    );
    return rows.map((r) => ({
      id: r.id,
      environment: r.environment,
      lastSeq: Number(r.last_seq),
      publishedSeq: Number(r.published_seq),
    }));
  }

  /** Messages in the export outbox, not yet confirmed by the broker. */
  private async outboxCount(): Promise<number> {
    const [row] = await this.dataSource.query<{ n: string }[]>(`SELECT count(*) AS n FROM export_outbox`);
    return Number(row?.n ?? 0);
  }

  /**
   * The export outbox's messages (trading-state changes, reconciliation breaks), up to one batch in `id`
   * order, one at a time, each deleted only once JetStream has acknowledged it: a crash in between
   * republishes it with the same `Nats-Msg-Id`. `id` order is the order of the changes within one scope
   * (one account's trading state, the global one, one break: each written under its own lock), not across
   * scopes: an id is taken at the insert, and transactions commit in their own order.
   */
  private async publishOutbox(js: JetStreamClient): Promise<void> {
    // One batch per round: a long backlog (the export turned on late) does not hold the order events back.
    if (this.lock && !this.stopped) {
      const rows = await this.dataSource.query<{ id: string; subject: string; msg_id: string; payload: unknown }[]>(
        `SELECT id, subject, msg_id, payload FROM export_outbox ORDER BY id LIMIT $1`,
        [BATCH],
      );
      if (rows.length === 0) {
        return;
      }
      const published: string[] = [];
      try {
        for (const row of rows) {
          if (!this.lock) {
            break;
          }
          await js.publish(row.subject, this.codec.encode(row.payload), { msgID: row.msg_id });
          published.push(row.id);
          this.published.inc();
        }
      } finally {
        if (published.length > 0) {
          await this.dataSource.query(`DELETE FROM export_outbox WHERE id = ANY($1::bigint[])`, [published]);
        }
      }
    }
  }

  /** The account's events beyond its cursor, one at a time, each acknowledged before the next. */
  private async publishAccount(js: JetStreamClient, account: Behind): Promise<void> {
    let cursor = account.publishedSeq;
    while (this.lock && !this.stopped) {
      const events = await this.events.listAfter(account.id, cursor, BATCH);
      if (events.length === 0) {
        return;
      }
      const subject = `gateway.${account.environment}.${account.id}.orders`;
      try {
        for (const event of events) {
          if (!this.lock) {
            break;
          }
          await js.publish(subject, this.codec.encode(event), { msgID: `${account.id}:${event.seq}` });
          cursor = event.seq;
          this.published.inc();
        }
      } finally {
        if (cursor > account.publishedSeq) {
          await this.dataSource.query(
            `INSERT INTO event_exports (account_id, published_seq, published_at) VALUES ($1, $2, now())
               ON CONFLICT (account_id) DO UPDATE
                 SET published_seq = GREATEST(event_exports.published_seq, EXCLUDED.published_seq), published_at = now()`,
            [account.id, String(cursor)],
          );
        }
      }
    }
  }

  private observeLag(lag: number): void {
    this.lag.set(lag);
    const now = Date.now();
    if (lag === 0) {
      if (this.alerted) {
        this.logger.info('event export: caught up');
      }
      this.lagSince = null;
      this.alerted = false;
      return;
    }
    this.lagSince ??= now;
    if (!this.alerted && now - this.lagSince >= this.options.lagAlertMs) {
      this.alerted = true;
      this.logger.warn(
        { alert: 'event_export_lagging', lag, sinceMs: now - this.lagSince },
        'event export: order events are not reaching the message broker',
      );
    }
  }

  private failed(error: unknown): void {
    // NATS or PostgreSQL away: the round is retried at the next poll; logged at most every 5 s.
    if (Date.now() - this.lastFailure > 5_000) {
      this.lastFailure = Date.now();
      this.logger.warn({ err: error }, 'event export: a round failed; retrying');
    }
    if (this.nats?.isClosed()) {
      this.nats = null;
      this.js = null;
    }
  }
}
