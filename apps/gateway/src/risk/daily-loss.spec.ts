/**
 * The daily loss limit on the risk path as the gateway builds it (real PostgreSQL): fills recorded by the
 * ExecutionReportProcessor (which keeps the position's trading day and its day-start realized P&L), then
 * PreTradeRisk under the account lock, reading the positions through RiskContextRepository. A loss
 * realized today must count against `maxDailyLoss`; one realized on an earlier trading day must not.
 */
import type { ExecutionClient, ExecutionReport } from '@gateway/brokers';
import { defaultMarketDataSets, loadMarketData, MarketReplay } from '@gateway/brokers';
import { type Clock, Decimal, type OrderSide, tradingDayOf } from '@gateway/oms';
import { referencePrice } from '@gateway/risk';
import type { TestingModule } from '@nestjs/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.js';
import { pendingOrder } from '../../../../test/support/orders.js';
import { ReportSource } from '../../../../test/support/report-source.js';
import { orderPathTestingModule } from '../../../../test/support/testing-module.js';
import { AccountRepository } from '../accounts/account.repository.js';
import { TradingStateRepository } from '../accounts/trading-state.repository.js';
import { Principal } from '../auth/principal.js';
import { loadConfig } from '../config/config.js';
import { MARKET_DATA } from '../market/market.tokens.js';
import { ExecutionReportProcessor } from '../orders/execution-report.processor.js';
import { OrderLedger } from '../orders/order-ledger.js';
import { OrderMessageRepository } from './order-message.repository.js';
import { OrderMessages } from './order-messages.js';
import { type PreTradeRequest, PreTradeRisk } from './pre-trade-risk.js';
import { OpenPositionBreakRepository } from './open-position-break.repository.js';
import { RiskContextRepository } from './risk-context.repository.js';
import { RiskLimitsRepository } from './risk-limits.repository.js';
import { configuredRiskLimits } from './risk-limits.schema.js';
import { RiskLimitsService } from './risk-limits.service.js';

/** A clock the spec moves: the processor's and the risk check's. */
class ManualClock implements Clock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
}

/** 10:00 in New York on a trading day, and the same time on the next one. */
const DAY_1 = Date.UTC(2030, 0, 2, 15, 0, 0);
const DAY_2 = Date.UTC(2030, 0, 3, 15, 0, 0);

const config = loadConfig({});
const clock = new ManualClock(DAY_1);
const source = new ReportSource();
let db: TestDatabase;
let module: TestingModule;
let ledger: OrderLedger;
let processor: ExecutionReportProcessor;
let preTrade: PreTradeRisk;
let limits: RiskLimitsService;
let accounts: AccountRepository;
let fills = 0;
/** SPY's reference price (the mid) in the paused replay: fills near it leave no unrealized P&L to speak of. */
let mark: Decimal;
let bid: Decimal;
let ask: Decimal;

beforeAll(async () => {
  db = await createTestDatabase();
  accounts = new AccountRepository(db.dataSource);
  // The recorded SPY quotes, paused: a fresh quote for the entry checked (no other limit denies it).
  const sets = defaultMarketDataSets({ spxwDate: config.paper.spxwDate }).filter(
    (s) => s.kind !== 'lean_option_quote_bars',
  );
  const replay = new MarketReplay({
    data: loadMarketData(config.paper.marketDataDir, sets),
    paused: true,
    startTime: '09:30:05',
  });
  const quote = replay.getQuote('SPY')!;
  mark = referencePrice(quote)!.price;
  ({ bid, ask } = quote);
  module = await orderPathTestingModule(
    {
      dataSource: db.dataSource,
      logger: pino({ level: 'silent' }),
      config,
      clock,
      executionClient: source as unknown as ExecutionClient,
    },
    [
      { provide: MARKET_DATA, useValue: replay },
      ExecutionReportProcessor,
      RiskContextRepository,
      OpenPositionBreakRepository,
      TradingStateRepository,
      OrderMessageRepository,
      RiskLimitsRepository,
      RiskLimitsService,
      OrderMessages,
      PreTradeRisk,
    ],
  );
  ledger = module.get(OrderLedger);
  processor = module.get(ExecutionReportProcessor);
  preTrade = module.get(PreTradeRisk);
  limits = module.get(RiskLimitsService);
  processor.onModuleInit();
}, 60_000);

afterAll(async () => {
  await processor?.onModuleDestroy();
  await module?.close();
  await db?.drop();
});

/** A new account whose daily loss limit is `maxDailyLoss` USD, set as PUT …/risk-limits sets it. */
async function accountWithDailyLoss(name: string, maxDailyLoss: string): Promise<string> {
  const id = (await accounts.ensurePaperAccount(name)).id;
  const risk = new Principal('risk-officer', new Set(['risk']), '*');
  await limits.put(risk, id, { limits: { ...configuredRiskLimits(config), maxDailyLoss }, reason: 'spec' });
  return id;
}

/**
 * An order of `quantity` SPY acknowledged by the broker and filled `below` USD under the mark, through the
 * broker's reports.
 */
async function fill(accountId: string, side: OrderSide, quantity: string, below = '0'): Promise<void> {
  const order = pendingOrder(accountId, `c-${++fills}`, quantity, { side, createdAt: clock.now() });
  await ledger.inAccount(accountId, (tx) => tx.insertOrder(order, 'pending_new', 'paper'));
  const base = {
    venue: 'paper',
    clientOrderId: order.id,
    brokerOrderId: `B-${order.id}`,
    symbol: 'SPY',
    side,
    transactTime: clock.now(),
  };
  const reports: ExecutionReport[] = [
    {
      ...base,
      execType: 'new',
      cumulativeQuantity: new Decimal(0),
      leavesQuantity: new Decimal(quantity),
      raw: { execType: 'new' },
    },
    {
      ...base,
      execType: 'trade',
      cumulativeQuantity: new Decimal(quantity),
      leavesQuantity: new Decimal(0),
      execution: {
        brokerExecutionId: `E-${order.id}`,
        quantity: new Decimal(quantity),
        price: mark.minus(below),
        executedAt: clock.now(),
      },
      raw: { execType: 'trade' },
    },
  ];
  reports.forEach((r) => source.emit(r));
  await processor.drained();
}

/** The pre-trade check of a new order, in the account's transaction, as the order intake runs it. */
async function check(accountId: string, side: OrderSide, quantity: string): Promise<string> {
  const request: PreTradeRequest = {
    symbol: 'SPY',
    side,
    type: 'limit',
    quantity: new Decimal(quantity),
    limitPrice: side === 'buy' ? bid : ask,
    stopPrice: null,
    positionEffect: null,
  };
  const step = await ledger.inAccount(accountId, async (tx) => {
    const { decision } = await preTrade.check(tx, request, null);
    tx.recordsNothing();
    return decision;
  });
  const decision = step!.result;
  return decision.kind === 'approved' ? 'approved' : decision.code;
}

describe('daily loss limit (real PostgreSQL, the pre-trade risk path)', () => {
  it('denies the next entry once a loss realized today reaches the limit; exits still pass', async () => {
    clock.t = DAY_1;
    const id = await accountWithDailyLoss('daily-loss-today', '40');
    expect(await check(id, 'buy', '1')).toBe('approved');
    // Bought 10 at the mark, sold 5 at 10 USD under it: realized −50 today, 5 shares held at the mark.
    await fill(id, 'buy', '10');
    await fill(id, 'sell', '5', '10');
    // A raw query reads the `date` column as the server's text (GATEWAY_PG_TYPES), as the risk reads compare it.
    const [position] = await db.dataSource.query<{ realized_pnl: string; trading_day: unknown }[]>(
      `SELECT realized_pnl, trading_day FROM positions WHERE account_id = $1`,
      [id],
    );
    expect(new Decimal(position!.realized_pnl).toFixed()).toBe('-50');
    expect(position!.trading_day).toBe(tradingDayOf(DAY_1));
    expect(await check(id, 'buy', '1')).toBe('risk.daily_loss');
    expect(await check(id, 'sell', '5')).toBe('approved');
  });

  it('counts only what was realized since the trading day began', async () => {
    clock.t = DAY_1;
    const id = await accountWithDailyLoss('daily-loss-yesterday', '40');
    await fill(id, 'buy', '10');
    await fill(id, 'sell', '10', '5');
    expect(await check(id, 'buy', '1')).toBe('risk.daily_loss');
    // The next trading day: yesterday's −50 is not today's.
    clock.t = DAY_2;
    expect(await check(id, 'buy', '1')).toBe('approved');
    // −30 today is within the limit of 40 ...
    await fill(id, 'buy', '10');
    await fill(id, 'sell', '10', '3');
    expect(await check(id, 'buy', '1')).toBe('approved');
    // ... −50 is beyond it.
    await fill(id, 'buy', '10');
    await fill(id, 'sell', '10', '2');
    expect(await check(id, 'buy', '1')).toBe('risk.daily_loss');
  });
});
