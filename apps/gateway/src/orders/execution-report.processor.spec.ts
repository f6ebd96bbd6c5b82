import { Decimal } from '@gateway/oms';
import type { ExecutionClient, ExecutionReport } from '@gateway/brokers';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, REDIS_URL, type TestDatabase } from '../../../../test/support/database.js';
import { orderLedger } from '../../../../test/support/order-repositories.js';
import { ReportSource } from '../../../../test/support/report-source.js';
import { orderPathTestingModule } from '../../../../test/support/testing-module.js';
import { pendingOrder } from '../../../../test/support/orders.js';
import { AccountRepository } from '../accounts/account.repository.js';
import { createRedis } from '../redis/redis.provider.js';
import { ExecutionReportProcessor } from './execution-report.processor.js';
import type { OrderLedger } from './order-ledger.js';

let db: TestDatabase;
let ledger: OrderLedger;
let accountId: string;
const redis = createRedis(REDIS_URL, 'spec');
const subscriber = createRedis(REDIS_URL, 'spec-sub');

beforeAll(async () => {
  db = await createTestDatabase();
  ledger = await orderLedger(db.dataSource, pino({ level: 'silent' }));
  accountId = (await new AccountRepository(db.dataSource).ensurePaperAccount('reports')).id;
  await Promise.all([redis.connect(), subscriber.connect()]);
});
afterAll(async () => {
  redis.disconnect();
  subscriber.disconnect();
  await db?.drop();
});

async function insertPendingOrder(clientOrderId: string): Promise<string> {
  const order = pendingOrder(accountId, clientOrderId, '10');
  await ledger.inAccount(accountId, (tx) => tx.insertOrder(order, 'pending_new', 'paper'));
  return order.id;
}

const report = (clientOrderId: string, execType: ExecutionReport['execType'], raw: unknown): ExecutionReport => ({
  venue: 'paper',
  execType,
  clientOrderId,
  brokerOrderId: `B-${clientOrderId}`,
  symbol: 'SPY',
  side: 'buy',
  cumulativeQuantity: new Decimal(0),
  leavesQuantity: new Decimal(10),
  transactTime: Date.now(),
  raw,
});

/** The processor over the test's database, started, with the report source it reads from. */
async function startProcessor(): Promise<{ source: ReportSource; processor: ExecutionReportProcessor }> {
  const source = new ReportSource();
  const module = await orderPathTestingModule(
    {
      dataSource: db.dataSource,
      logger: pino({ level: 'silent' }),
      executionClient: source as unknown as ExecutionClient,
    },
    [ExecutionReportProcessor],
  );
  const processor = module.get(ExecutionReportProcessor);
  processor.onModuleInit();
  return { source, processor };
}

describe('ExecutionReportProcessor (real PostgreSQL and Redis)', () => {
  it('does not let a report the database can never store hold up the reports behind it', async () => {
    const { source, processor } = await startProcessor();
    const poisoned = await insertPendingOrder('poisoned');
    const next = await insertPendingOrder('next');

    // jsonb refuses a NUL character (SQLSTATE 22P05): no retry can ever store this payload.
    source.emit(report(poisoned, 'new', { text: 'bad \u0000 byte' }));
    source.emit(report(next, 'new', { ok: true }));
    await processor.drained();

    const rows: { id: string; status: string; needs_reconciliation: boolean }[] = await db.dataSource.query(
      'SELECT id, status, needs_reconciliation FROM orders WHERE id = ANY($1)',
      [[poisoned, next]],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(next)?.status).toBe('new');
    expect(byId.get(poisoned)).toMatchObject({ status: 'pending_new', needs_reconciliation: true });
  }, 15_000);

  it("reads a replacement's booked quantity back from the broker's later reports, never keeping an early one", async () => {
    const { source, processor } = await startProcessor();
    const old = await insertPendingOrder('rebook-old');
    const other = await insertPendingOrder('rebook-other');
    const replacement = pendingOrder(accountId, 'rebook-new', '2', { replacesOrderId: old });
    await ledger.inAccount(accountId, (tx) => tx.insertOrder(replacement, 'pending_new', 'paper'));
    const booked = (id: string, execType: ExecutionReport['execType'], cum: string, leaves: string) => ({
      ...report(id, execType, { cum, leaves }),
      cumulativeQuantity: new Decimal(cum),
      leavesQuantity: new Decimal(leaves),
    });

    // Accepted for 2 on an early report (as reconciliation takes a replacement the venue has not acted on)...
    source.emit(booked(replacement.id, 'new', '0', '2'));
    // ...then the venue books it for 1 (a fill of the old order raced the replace) and fills it.
    source.emit(booked(replacement.id, 'new', '0', '1'));
    source.emit({
      ...booked(replacement.id, 'trade', '1', '0'),
      execution: {
        brokerExecutionId: 'E-rebook-1',
        quantity: new Decimal(1),
        price: new Decimal('400'),
        executedAt: 1,
      },
    });
    // An order that replaces nothing keeps its own quantity, whatever an ack says.
    source.emit(booked(other, 'new', '0', '10'));
    source.emit(booked(other, 'new', '0', '4'));
    await processor.drained();

    const rows: { id: string; status: string; quantity: string; filled_quantity: string }[] = await db.dataSource.query(
      'SELECT id, status, quantity, filled_quantity FROM orders WHERE id = ANY($1)',
      [[replacement.id, other]],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(replacement.id)).toMatchObject({ status: 'filled', quantity: '1', filled_quantity: '1' });
    expect(byId.get(other)).toMatchObject({ status: 'new', quantity: '10' });
    const events: { event: string }[] = await db.dataSource.query(
      'SELECT event FROM order_events WHERE order_id = $1 ORDER BY seq',
      [replacement.id],
    );
    expect(events.map((e) => e.event)).toEqual(['pending_new', 'new', 'restated', 'filled']);
  }, 15_000);
});
