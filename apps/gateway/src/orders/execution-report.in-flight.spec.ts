import { Decimal } from '@gateway/oms';
import type { ExecutionClient, ExecutionReport } from '@gateway/brokers';
import { pino } from 'pino';
import type { QueryRunner } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.js';
import { ReportSource } from '../../../../test/support/report-source.js';
import { orderPathTestingModule } from '../../../../test/support/testing-module.js';
import { pendingOrder } from '../../../../test/support/orders.js';
import { AccountRepository } from '../accounts/account.repository.js';
import { ExecutionReportProcessor } from './execution-report.processor.js';
import { OrderLedger } from './order-ledger.js';
import { OrderRepository } from './persistence/order.repository.js';

let db: TestDatabase;
let ledger: OrderLedger;
let processor: ExecutionReportProcessor;
let orders: OrderRepository;
let accountId: string;
const source = new ReportSource();

beforeAll(async () => {
  db = await createTestDatabase();
  accountId = (await new AccountRepository(db.dataSource).ensurePaperAccount('in-flight-acks')).id;
  const module = await orderPathTestingModule(
    {
      dataSource: db.dataSource,
      logger: pino({ level: 'silent' }),
      executionClient: source as unknown as ExecutionClient,
    },
    [ExecutionReportProcessor],
  );
  ledger = module.get(OrderLedger);
  processor = module.get(ExecutionReportProcessor);
  orders = module.get(OrderRepository);
  processor.onModuleInit();
});
afterAll(async () => {
  await db?.drop();
});

const brokerOrderId = (orderId: string) => `B-${orderId}`;

const report = (
  orderId: string,
  execType: ExecutionReport['execType'],
  fill?: { id: string; quantity: string },
): ExecutionReport => ({
  venue: 'paper',
  execType,
  clientOrderId: orderId,
  brokerOrderId: brokerOrderId(orderId),
  symbol: 'SPY',
  side: 'buy',
  cumulativeQuantity: new Decimal(fill?.quantity ?? 0),
  leavesQuantity: new Decimal(10).minus(fill?.quantity ?? 0),
  transactTime: Date.now(),
  raw: { execType },
  ...(fill
    ? {
        execution: {
          brokerExecutionId: fill.id,
          quantity: new Decimal(fill.quantity),
          price: new Decimal('150.25'),
          executedAt: Date.now(),
        },
      }
    : {}),
});

/** A `pending_new` order of 10; with `answer`, the submit's answer (`new`, the broker's id) recorded. */
async function placeOrder(clientOrderId: string, answer: boolean): Promise<string> {
  const order = pendingOrder(accountId, clientOrderId, '10');
  await ledger.inAccount(accountId, async (tx) => {
    const stored = await tx.insertOrder(order, 'pending_new', 'paper');
    if (answer) {
      await tx.applyEvent(stored, { kind: 'accepted', at: Date.now(), brokerOrderId: brokerOrderId(order.id) });
    }
  });
  return order.id;
}

/** Another transaction holding the account's row lock until released. */
async function holdAccountLock(): Promise<QueryRunner> {
  const runner = db.dataSource.createQueryRunner();
  await runner.connect();
  await runner.startTransaction();
  await runner.query('SELECT id FROM accounts WHERE id = $1 FOR UPDATE', [accountId]);
  return runner;
}

async function release(runner: QueryRunner): Promise<void> {
  await runner.commitTransaction();
  await runner.release();
}

/** Whether the reports received so far are all handled within `ms`. */
async function drainedWithin(ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const done = await Promise.race([processor.drained().then(() => true as const), timeout]);
  clearTimeout(timer);
  return done;
}

async function orderState(orderId: string) {
  const [row]: { status: string; filled_quantity: string; updated_at: Date; last_seq: string }[] =
    await db.dataSource.query('SELECT status, filled_quantity, updated_at, last_seq FROM orders WHERE id = $1', [
      orderId,
    ]);
  const events: { event: string }[] = await db.dataSource.query(
    'SELECT event FROM order_events WHERE order_id = $1 ORDER BY seq',
    [orderId],
  );
  const [account]: { last_seq: string }[] = await db.dataSource.query('SELECT last_seq FROM accounts WHERE id = $1', [
    accountId,
  ]);
  return { order: row, events: events.map((e) => e.event), account };
}

describe('ExecutionReportProcessor: an ack racing the answer of a submission of this process (real PostgreSQL)', () => {
  it('waits for the answer in memory and, the acceptance recorded, takes no lock and writes nothing', async () => {
    const orderId = await placeOrder('in-flight', false);
    const pending = ledger.answers.expect(orderId);
    const committed = await orders.findCommitted(accountId, orderId);
    // The order as the answer's transaction commits it (accepted, the broker's id), handed over in memory;
    // meanwhile another transaction holds the account lock, which the ack must not need.
    const accepted = { ...committed!, status: 'new' as const, brokerOrderId: brokerOrderId(orderId) };
    const before = await orderState(orderId);
    const holder = await holdAccountLock();
    try {
      source.emit(report(orderId, 'new'));
      setTimeout(() => pending.settle(accepted), 20);
      expect(await drainedWithin(2_000)).toBe(true); // the committed read says pending_new: only the answer frees it
      expect(await orderState(orderId)).toEqual(before); // and the ack wrote nothing
    } finally {
      await release(holder);
    }
  });

  it('waits a bounded time only: an answer still under way leaves the ack to the account lock, which records it', async () => {
    const orderId = await placeOrder('slow-answer', false);
    const pending = ledger.answers.expect(orderId);
    try {
      source.emit(report(orderId, 'new'));
      expect(await drainedWithin(3_000)).toBe(true);
      const state = await orderState(orderId);
      expect(state.order?.status).toBe('new');
      expect(state.events).toEqual(['pending_new', 'new']);
    } finally {
      pending.settle(null);
    }
  });

  it('records the ack when the answer left the order unknown', async () => {
    const orderId = await placeOrder('answered-unknown', false);
    const pending = ledger.answers.expect(orderId);
    const answered = await ledger.inAccount(accountId, async (tx) => {
      const current = await orders.find(tx, orderId);
      return tx.applyEvent(current!, { kind: 'submitted_unknown', at: Date.now() });
    });
    source.emit(report(orderId, 'new'));
    pending.settle(answered!.result);
    await processor.drained();
    const state = await orderState(orderId);
    expect(state.order?.status).toBe('new');
    expect(state.events).toEqual(['pending_new', 'unknown', 'new']);
  });
});
