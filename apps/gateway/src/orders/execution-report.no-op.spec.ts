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
  accountId = (await new AccountRepository(db.dataSource).ensurePaperAccount('no-op-reports')).id;
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

describe('ExecutionReportProcessor: a report that changes nothing (real PostgreSQL)', () => {
  it('drops a repeated ack without the account lock and without a write; a fill still waits and is applied', async () => {
    const orderId = await placeOrder('answered', true);
    const before = await orderState(orderId);
    expect(before.events).toEqual(['pending_new', 'new']);

    const holder = await holdAccountLock();
    try {
      // The ack the submit's answer already recorded: handled while another transaction holds the lock.
      source.emit(report(orderId, 'new'));
      source.emit(report(orderId, 'pending_cancel'));
      expect(await drainedWithin(2_000)).toBe(true);
      const after = await orderState(orderId);
      expect(after).toEqual(before);

      // A fill is never dropped: it waits for the lock.
      source.emit(report(orderId, 'trade', { id: 'E-answered-1', quantity: '4' }));
      expect(await drainedWithin(300)).toBe(false);
    } finally {
      await release(holder);
    }
    await processor.drained();
    const filled = await orderState(orderId);
    expect(filled.order?.status).toBe('partially_filled');
    expect(filled.order?.filled_quantity).toBe('4');
    expect(filled.events).toEqual(['pending_new', 'new', 'partially_filled']);
    const executions: { broker_execution_id: string }[] = await db.dataSource.query(
      'SELECT broker_execution_id FROM executions WHERE order_id = $1',
      [orderId],
    );
    expect(executions.map((e) => e.broker_execution_id)).toEqual(['E-answered-1']);

    // The ack once more, after the fill: still nothing.
    source.emit(report(orderId, 'new'));
    await processor.drained();
    expect(await orderState(orderId)).toEqual(filled);
  });

  it('records an ack racing the submit answer once: the ack waits for the lock and finds the answer recorded', async () => {
    const orderId = await placeOrder('racing', false);
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    // The submit's answer, holding the lock while the ack arrives and reads `pending_new`.
    const recording = ledger.inAccount(accountId, async (tx) => {
      locked();
      await answered;
      const current = await orders.find(tx, orderId);
      await tx.applyEvent(current!, { kind: 'accepted', at: Date.now(), brokerOrderId: brokerOrderId(orderId) });
    });
    await holding;
    source.emit(report(orderId, 'new'));
    expect(await drainedWithin(300)).toBe(false); // read `pending_new`: it waits for the lock
    answer();
    await recording;
    await processor.drained();
    const state = await orderState(orderId);
    expect(state.order?.status).toBe('new');
    expect(state.events).toEqual(['pending_new', 'new']);
  });

  it('settles an unknown order with its ack', async () => {
    const order = pendingOrder(accountId, 'unknown-ack', '10');
    await ledger.inAccount(accountId, async (tx) => {
      const stored = await tx.insertOrder(order, 'pending_new', 'paper');
      await tx.applyEvent(stored, { kind: 'submitted_unknown', at: Date.now() });
    });
    source.emit(report(order.id, 'new'));
    await processor.drained();
    const state = await orderState(order.id);
    expect(state.order?.status).toBe('new');
    expect(state.events).toEqual(['pending_new', 'unknown', 'new']);
  });
});
