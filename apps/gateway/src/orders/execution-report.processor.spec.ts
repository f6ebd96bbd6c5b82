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

describe('ExecutionReportProcessor (real PostgreSQL and Redis)', () => {
  it('does not let a report the database can never store hold up the reports behind it', async () => {
    const logger = pino({ level: 'silent' });
    const source = new ReportSource();
    const module = await orderPathTestingModule(
      { dataSource: db.dataSource, logger, executionClient: source as unknown as ExecutionClient },
      [ExecutionReportProcessor],
    );
    const processor = module.get(ExecutionReportProcessor);
    processor.onModuleInit();
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
});
