import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { connect, DeliverPolicy, type JsMsg } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { sleep } from '../support/e2e.js';
import { ROOT } from '../support/gateway-process.js';
import { eventually } from '../support/http.js';
import { type NatsProcess, startNatsProcess } from '../support/nats-process.js';
import { type ServiceProcess, startServiceProcess } from '../support/service-process.js';

/**
 * The event export (README, "Exporting events"): order events written to the log are published to NATS
 * JetStream by the relay, per account in `seq` order, none missing, through relay crashes (SIGKILL) and a
 * NATS outage; duplicates, if any, carry the same `Nats-Msg-Id`; the lag metric rises and falls back to 0.
 * The events are written straight into the log, as the order path's transactions write them (the account
 * row's `last_seq` with each), so the test drives 10,000 of them in seconds and proves the relay alone;
 * beside them, 1,000 messages of the export outbox (what trading-state changes and breaks write) take the
 * same path and arrive the same way, the outbox emptied only as they are confirmed.
 */
const ACCOUNTS = 20;
const EVENTS_PER_ACCOUNT = 500;
const PER_ROUND = 10;
const STREAM = 'GATEWAY_EVENTS';
const CONTROL_STREAM = 'GATEWAY_CONTROL';
const RELAY = join(ROOT, 'dist/apps/gateway/src/export/main.js');

let db: TestDatabase;
let nats: NatsProcess;
let relay: ServiceProcess | null = null;
/** Every relay process started, killed ones included (their output). */
const relays: ServiceProcess[] = [];
const accounts: { id: string; orderId: string }[] = [];

async function startRelay(): Promise<ServiceProcess> {
  const started = await startServiceProcess({
    main: RELAY,
    name: 'event export relay',
    env: {
      DATABASE_URL: db.url,
      NATS_URL: nats.url,
      EVENT_EXPORT_POLL_MS: '50',
      EVENT_EXPORT_LAG_ALERT_MS: '2000',
      LOG_LEVEL: 'info',
    },
    ready: /relay metrics on (http:\S+)/,
  });
  relays.push(started);
  return started;
}

/** A gauge of a relay's `/metrics`, or null when it does not answer. */
async function gauge(of: ServiceProcess, name: string): Promise<number | null> {
  const text = await fetch(`${of.url}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

async function lag(): Promise<number | null> {
  if (!relay) {
    return null;
  }
  const text = await fetch(`${relay.url}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  const m = /^gateway_event_export_lag_events (\S+)$/m.exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * `rounds` rounds of PER_ROUND events for every account, each account's in one transaction, as the ledger
 * does; each transaction also writes one message to the export outbox, as a trading-state change does.
 */
async function writeEvents(fromRound: number, rounds: number, pauseMs: number): Promise<void> {
  for (let round = fromRound; round < fromRound + rounds; round += 1) {
    for (const account of accounts) {
      const first = round * PER_ROUND + 1;
      await db.dataSource.transaction(async (m) => {
        await m.query(
          `INSERT INTO order_events (account_id, seq, order_id, event, "order", ts)
             SELECT $1::uuid, s, $2::uuid, 'new', jsonb_build_object('id', $2::text, 'n', s), now()
               FROM generate_series($3::bigint, $4::bigint) AS s`,
          [account.id, account.orderId, first, first + PER_ROUND - 1],
        );
        await m.query('UPDATE accounts SET last_seq = $2 WHERE id = $1', [account.id, first + PER_ROUND - 1]);
        await m.query(
          `INSERT INTO export_outbox (subject, msg_id, payload)
             VALUES ($1, $2, jsonb_build_object('type', 'trading_state', 'accountId', $3::text, 'round', $4::int))`,
          [`gateway.paper.${account.id}.trading_state`, `trading_state:${account.id}:${round}`, account.id, round],
        );
      });
    }
    await sleep(pauseMs);
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  nats = await startNatsProcess();
  for (let i = 0; i < ACCOUNTS; i += 1) {
    const id = randomUUID();
    const orderId = randomUUID();
    await db.dataSource.query(
      `INSERT INTO accounts (id, name, environment, broker) VALUES ($1, $2, 'paper', 'paper')`,
      [id, `export-${i}`],
    );
    await db.dataSource.query(
      `INSERT INTO orders (id, account_id, client_order_id, environment, venue, symbol, side, type, time_in_force,
                           quantity, status, created_at, updated_at, last_seq)
         VALUES ($1, $2, 'export', 'paper', 'paper', 'SPY', 'buy', 'market', 'day', 1, 'filled', now(), now(), 1)`,
      [orderId, id],
    );
    accounts.push({ id, orderId });
  }
});
afterAll(async () => {
  await relay?.stop('SIGKILL');
  await nats?.close();
  await db?.drop();
});

describe('event export to NATS JetStream', () => {
  it('10,000 events of 20 accounts reach JetStream in seq order per account, through 5 relay SIGKILLs and 20 s of NATS down', async () => {
    relay = await startRelay();
    const rounds = EVENTS_PER_ACCOUNT / PER_ROUND; // 50
    const writing = (async () => {
      await writeEvents(0, 10, 50);
      // Two crashes while writing.
      for (let k = 0; k < 2; k += 1) {
        await relay.stop('SIGKILL');
        await writeEvents(10 + k * 5, 5, 20);
        relay = await startRelay();
        await writeEvents(15 + k * 5, 0, 300);
      }
    })();
    await writing;
    // NATS down for 20 s while events keep coming: the lag rises, nothing is lost.
    await nats.stop();
    const lagsWhileDown: number[] = [];
    const outage = (async () => {
      const until = Date.now() + 20_000;
      while (Date.now() < until) {
        lagsWhileDown.push((await lag()) ?? -1);
        await sleep(500);
      }
    })();
    await writeEvents(20, 10, 200);
    await outage;
    await nats.start();
    // Three more crashes while it catches up and events keep coming.
    for (let k = 0; k < 3; k += 1) {
      await sleep(300);
      await relay.stop('SIGKILL');
      await writeEvents(30 + k * 5, 5, 0);
      relay = await startRelay();
    }
    await writeEvents(45, rounds - 45, 20);

    expect(Math.max(...lagsWhileDown), `lag while NATS was down: ${lagsWhileDown.join(',')}`).toBeGreaterThan(0);
    const deadline = Date.now() + 30_000;
    while ((await lag()) !== 0) {
      expect(Date.now(), `lag ${await lag()} did not fall back to 0`).toBeLessThan(deadline);
      await sleep(200);
    }
    const cursors: { published_seq: string }[] = await db.dataSource.query('SELECT published_seq FROM event_exports');
    expect(cursors.map((c) => Number(c.published_seq))).toEqual(Array(ACCOUNTS).fill(EVENTS_PER_ACCOUNT));
    // The outbox is pruned as its messages are confirmed, none before.
    expect((await db.dataSource.query('SELECT count(*)::int AS n FROM export_outbox'))[0].n).toBe(0);
    // The relay that was up during the outage raised the alert.
    expect(relays.map((r) => r.output()).join('')).toContain('"alert":"event_export_lagging"');

    // A consumer reads the whole stream from its first sequence and checks every account's events.
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await nc.jetstreamManager();
      /** Every message of `stream`, from its first sequence. */
      const readAll = async (stream: string): Promise<JsMsg[]> => {
        const total = (await jsm.streams.info(stream)).state.messages;
        const consumer = await nc
          .jetstream()
          .consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 1 });
        const received: JsMsg[] = [];
        if (total === 0) {
          return received;
        }
        for await (const message of await consumer.consume()) {
          received.push(message);
          if (received.length === total) {
            break;
          }
        }
        return received;
      };
      const received = await readAll(STREAM);
      // The order events' stream carries order events only; the outbox's messages have a stream of their own.
      expect(received.length).toBeGreaterThanOrEqual(ACCOUNTS * EVENTS_PER_ACCOUNT);
      const control = await readAll(CONTROL_STREAM);
      expect(control.length).toBeGreaterThanOrEqual(ACCOUNTS * rounds);
      const byAccount = new Map<string, { seq: number; msgId: string }[]>();
      const outboxed = new Map<string, { round: number; msgId: string }[]>();
      for (const message of control) {
        const msgId = message.headers?.get('Nats-Msg-Id') ?? '';
        const { accountId, round } = message.json<{ accountId: string; round: number }>();
        expect(message.subject).toBe(`gateway.paper.${accountId}.trading_state`);
        expect(msgId).toBe(`trading_state:${accountId}:${round}`);
        outboxed.set(accountId, [...(outboxed.get(accountId) ?? []), { round, msgId }]);
      }
      for (const message of received) {
        const msgId = message.headers?.get('Nats-Msg-Id') ?? '';
        const event = message.json<{ accountId: string; seq: number }>();
        expect(message.subject).toBe(`gateway.paper.${event.accountId}.orders`);
        expect(msgId).toBe(`${event.accountId}:${event.seq}`);
        byAccount.set(event.accountId, [...(byAccount.get(event.accountId) ?? []), { seq: event.seq, msgId }]);
      }
      expect(byAccount.size).toBe(ACCOUNTS);
      for (const [accountId, seen] of byAccount) {
        // In seq order, duplicates only of the event just before; de-duplicated, exactly 1..500.
        for (let i = 1; i < seen.length; i += 1) {
          expect(seen[i]!.seq, accountId).toBeGreaterThanOrEqual(seen[i - 1]!.seq);
        }
        const unique = [...new Set(seen.map((s) => s.seq))];
        expect(unique).toEqual(Array.from({ length: EVENTS_PER_ACCOUNT }, (_, i) => i + 1));
      }
      // The outbox's messages: every one, per account in the order written (a republish repeats its id).
      expect(outboxed.size).toBe(ACCOUNTS);
      for (const [accountId, seen] of outboxed) {
        for (let i = 1; i < seen.length; i += 1) {
          expect(seen[i]!.round, accountId).toBeGreaterThanOrEqual(seen[i - 1]!.round);
        }
        expect([...new Set(seen.map((s) => s.round))]).toEqual(Array.from({ length: rounds }, (_, i) => i));
      }
    } finally {
      await nc.close();
    }
  }, 120_000);

  it('two relays at once: exactly one publishes; when it dies the other takes over and nothing is lost', async () => {
    // The relay of the test before is gone: only these two run.
    await relay?.stop('SIGKILL');
    relay = null;
    const [first, second] = [await startRelay(), await startRelay()];
    try {
      const leaders = async () => [
        await gauge(first, 'gateway_event_export_leader'),
        await gauge(second, 'gateway_event_export_leader'),
      ];
      const deadline = Date.now() + 10_000;
      while ((await leaders()).filter((v) => v === 1).length !== 1) {
        expect(Date.now(), `leaders ${JSON.stringify(await leaders())}`).toBeLessThan(deadline);
        await sleep(100);
      }
      const [one, other] = (await leaders())[0] === 1 ? [first, second] : [second, first];
      expect(await gauge(other, 'gateway_event_export_leader')).toBe(0);
      await writeEvents(EVENTS_PER_ACCOUNT / PER_ROUND, 2, 0);
      await one.stop('SIGKILL');
      await writeEvents(EVENTS_PER_ACCOUNT / PER_ROUND + 2, 2, 0);
      const until = Date.now() + 15_000;
      const total = EVENTS_PER_ACCOUNT + 4 * PER_ROUND;
      for (;;) {
        const cursors: { published_seq: string }[] = await db.dataSource.query(
          'SELECT published_seq FROM event_exports',
        );
        if (cursors.every((c) => Number(c.published_seq) === total)) {
          break;
        }
        expect(Date.now(), 'the standby relay to take over and publish').toBeLessThan(until);
        await sleep(100);
      }
      expect(await gauge(other, 'gateway_event_export_leader')).toBe(1);
      // The gauge is computed on the relay's poll: it reads 0 once the poll after the last publish has run.
      await eventually(
        async () => (await gauge(other, 'gateway_event_export_lag_events')) === 0,
        5_000,
        'the lag back to 0 on the relay that took over',
      );
    } finally {
      await first.stop('SIGKILL');
      await second.stop('SIGKILL');
    }
  }, 60_000);
});
