import { Decimal } from '@gateway/oms';
import type { ExecutionClient, ExecutionReport } from '@gateway/brokers';
import { pino } from 'pino';
import type { QueryRunner } from 'typeorm';
import { afterAll, beforeAll } from 'vitest';
import { AccountRepository } from '../../apps/gateway/src/accounts/account.repository.js';
import { ExecutionReportProcessor } from '../../apps/gateway/src/orders/execution-report.processor.js';
import { OrderLedger } from '../../apps/gateway/src/orders/order-ledger.js';
import { OrderRepository } from '../../apps/gateway/src/orders/persistence/order.repository.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { pendingOrder } from './orders.js';
import { ReportSource } from './report-source.js';
import { orderPathTestingModule } from './testing-module.js';

/** The broker's order id the fixture's orders are acknowledged with: `B-<order id>`. */
export const brokerOrderId = (orderId: string): string => `B-${orderId}`;

/**
 * A paper report for an order of 10 SPY bought; with `fill`, an execution of `fill.quantity` at 150.25
 * (cumulative quantity = the fill, leaves = 10 - the fill).
 */
export const report = (
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

/** Commits and releases a transaction opened by {@link ExecutionReportFixture.holdAccountLock}. */
export async function release(runner: QueryRunner): Promise<void> {
  await runner.commitTransaction();
  await runner.release();
}

/** An order's row, its events in sequence and its account's `last_seq`, as stored. */
export interface StoredOrderState {
  readonly order: { status: string; filled_quantity: string; updated_at: Date; last_seq: string } | undefined;
  readonly events: string[];
  readonly account: { last_seq: string } | undefined;
}

/**
 * The execution report processor on a fresh database (real migrations) with one paper account, fed by
 * a {@link ReportSource} the spec drives. The graph is built in `beforeAll` and the database dropped in
 * `afterAll`: read the fields inside tests and hooks only.
 */
export class ExecutionReportFixture {
  readonly source = new ReportSource();
  db!: TestDatabase;
  ledger!: OrderLedger;
  processor!: ExecutionReportProcessor;
  orders!: OrderRepository;
  accountId!: string;

  /** Registers the suite's hooks; `accountName` names the paper account the orders are placed in. */
  constructor(accountName: string) {
    beforeAll(async () => {
      this.db = await createTestDatabase();
      this.accountId = (await new AccountRepository(this.db.dataSource).ensurePaperAccount(accountName)).id;
      const module = await orderPathTestingModule(
        {
          dataSource: this.db.dataSource,
          logger: pino({ level: 'silent' }),
          executionClient: this.source as unknown as ExecutionClient,
        },
        [ExecutionReportProcessor],
      );
      this.ledger = module.get(OrderLedger);
      this.processor = module.get(ExecutionReportProcessor);
      this.orders = module.get(OrderRepository);
      this.processor.onModuleInit();
    });
    afterAll(async () => {
      await this.db?.drop();
    });
  }

  /** A `pending_new` order of 10; with `answer`, the submit's answer (`new`, the broker's id) recorded. */
  async placeOrder(clientOrderId: string, answer: boolean): Promise<string> {
    const order = pendingOrder(this.accountId, clientOrderId, '10');
    await this.ledger.inAccount(this.accountId, async (tx) => {
      const stored = await tx.insertOrder(order, 'pending_new', 'paper');
      if (answer) {
        await tx.applyEvent(stored, { kind: 'accepted', at: Date.now(), brokerOrderId: brokerOrderId(order.id) });
      }
    });
    return order.id;
  }

  /** Another transaction holding the account's row lock until {@link release}d. */
  async holdAccountLock(): Promise<QueryRunner> {
    const runner = this.db.dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    await runner.query('SELECT id FROM accounts WHERE id = $1 FOR UPDATE', [this.accountId]);
    return runner;
  }

  /** Whether the reports received so far are all handled within `ms`. */
  async drainedWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const done = await Promise.race([this.processor.drained().then(() => true as const), timeout]);
    clearTimeout(timer);
    return done;
  }

  async orderState(orderId: string): Promise<StoredOrderState> {
    const [row]: { status: string; filled_quantity: string; updated_at: Date; last_seq: string }[] =
      await this.db.dataSource.query('SELECT status, filled_quantity, updated_at, last_seq FROM orders WHERE id = $1', [
        orderId,
      ]);
    const events: { event: string }[] = await this.db.dataSource.query(
      'SELECT event FROM order_events WHERE order_id = $1 ORDER BY seq',
      [orderId],
    );
    const [account]: { last_seq: string }[] = await this.db.dataSource.query(
      'SELECT last_seq FROM accounts WHERE id = $1',
      [this.accountId],
    );
    return { order: row, events: events.map((e) => e.event), account };
  }
}
