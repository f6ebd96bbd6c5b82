/**
 * Cost of the pre-trade risk engine per order, in microseconds (median and p99). Pure CPU: no database,
 * no network. Two runs over the same 1000 SPY, equity and SPXW 0DTE orders that pass and fail:
 * - every check on, with an account's realistic context: 20 positions (with average prices, some past
 *   the position loss limit), 50 working orders, 100 recent orders, message counts, the day's P&L and the
 *   market's clock (`marketNow`, some orders inside the 0DTE opening cutoff); every limit set, product
 *   collars, the absolute collar floor and the stop collar included; some stop_limit, off-tick and
 *   halted-account orders;
 * - the order checks only (the limits and context callers had before the account-level checks), for
 *   comparison.
 * `npm run bench -- risk`
 */
import { Decimal, formatOsiSymbol, type Quote } from '@gateway/oms';
import {
  DEFAULT_RISK_LIMITS,
  type OrderIntent,
  type PositionExposure,
  type RecentOrder,
  type RiskContext,
  RiskEngine,
  type RiskLimits,
  type WorkingOrderExposure,
  workingExposure,
} from '@gateway/risk';
import { summarise } from './stats.js';

const dec = (value: string | number) => new Decimal(value);
const NOW = Date.UTC(2021, 0, 4, 15, 30); // 10:30 ET on 2021-01-04, the day the SPXW calls expire
const IN_CUTOFF = Date.UTC(2021, 0, 4, 20, 45); // 15:45 ET: inside the 30-minute 0DTE cutoff (16:00 ET)

interface Instrument {
  readonly symbol: string;
  readonly quote: Quote;
  readonly multiplier: Decimal;
  /** The account's position in it. */
  readonly position: Decimal;
}

const quote = (symbol: string, bid: string, ask: string): Quote => ({
  symbol,
  bid: dec(bid),
  ask: dec(ask),
  bidSize: dec(1000),
  askSize: dec(1000),
  last: dec(bid),
  ts: NOW,
  source: 'bench',
});

// 10 equities and 10 SPXW 0DTE calls: the 20 positions of the account (longs and shorts).
const EQUITIES: [string, string, string, number][] = [
  ['SPY', '167.41', '167.42', 500],
  ['QQQ', '300.10', '300.12', -200],
  ['IWM', '150.20', '150.22', 300],
  ['AAPL', '130.50', '130.52', 400],
  ['MSFT', '220.30', '220.33', -100],
  ['AMZN', '3200.00', '3201.50', 20],
  ['TSLA', '700.00', '700.40', -50],
  ['NVDA', '520.00', '520.30', 60],
  ['META', '270.00', '270.10', 150],
  ['GOOGL', '1750.00', '1751.00', 30],
];
const instruments: Instrument[] = EQUITIES.map(([symbol, bid, ask, position]) => ({
  symbol,
  quote: quote(symbol, bid, ask),
  multiplier: dec(1),
  position: dec(position),
}));
for (let k = 0; k < 10; k++) {
  const symbol = formatOsiSymbol('SPXW', '2021-01-04', 'call', dec(3700 + 10 * k));
  const bid = dec(65).minus(dec(6).times(k));
  instruments.push({
    symbol,
    quote: quote(symbol, bid.toFixed(2), bid.plus('0.40').toFixed(2)),
    multiplier: dec(100),
    position: dec(k % 2 === 0 ? 10 + k : -(5 + k)),
  });
}
// Average prices 1 % to 3 % from the mark, both ways; every fifth position has lost more than the limit.
const positions: PositionExposure[] = instruments.map((i, n) => {
  const mark = i.quote.bid.plus(i.quote.ask).dividedBy(2);
  const against = i.position.isPositive() === (n % 5 === 0); // long and above the mark, or short and below
  const away = mark.times(dec(1 + (n % 3)).dividedBy(n % 5 === 0 ? 10 : 100));
  return {
    symbol: i.symbol,
    quantity: i.position,
    markPrice: mark,
    multiplier: i.multiplier,
    averagePrice: (against ? mark.plus(away) : mark.minus(away)).toDecimalPlaces(2),
  };
});

// 50 resting orders: limits 3 % away from the market, some stops, options' exits marked close; summed
// by symbol and side as the gateway's SQL reads them.
const restingOrders: WorkingOrderExposure[] = Array.from({ length: 50 }, (_, n) => {
  const instrument = instruments[n % instruments.length]!;
  const option = !instrument.multiplier.equals(1);
  const side = n % 2 === 0 ? 'buy' : 'sell';
  const away = side === 'buy' ? instrument.quote.bid.times('0.97') : instrument.quote.ask.times('1.03');
  const stop = n % 7 === 0;
  return {
    symbol: instrument.symbol,
    side,
    type: stop ? 'stop' : 'limit',
    leavesQuantity: dec(option ? 1 + (n % 3) : 10 + (n % 5) * 10),
    limitPrice: stop ? null : away.toDecimalPlaces(2),
    stopPrice: stop ? away.toDecimalPlaces(2) : null,
    multiplier: instrument.multiplier,
    positionEffect: option ? ((side === 'sell') === instrument.position.isPositive() ? 'close' : 'open') : null,
  };
});
const workingOrders = workingExposure(restingOrders);

function intentFor(i: number): [OrderIntent, Instrument] {
  const instrument = instruments[i % instruments.length]!;
  const option = !instrument.multiplier.equals(1);
  const side = (i + Math.floor(i / instruments.length)) % 2 === 0 ? 'buy' : 'sell'; // both sides of every instrument
  const market = i % 4 === 1;
  const stopLimit = i % 9 === 4;
  // On the tick grid (SPXW above 3.00: 0.10; shares 0.01), except one order in 53, half a cent off.
  const tick = option ? dec('0.10') : dec('0.01');
  const limit = instrument.quote.ask.plus(tick.times(i % 7)).plus(i % 53 === 0 ? '0.005' : 0);
  // A stop_limit's stop on its protective side (a buy stop above the market), 2 % to 24 % away.
  const stop =
    side === 'buy' ? limit.times(dec(102 + (i % 23)).dividedBy(100)) : limit.times(dec(98 - (i % 23)).dividedBy(100));
  const stopPrice = stop.dividedBy(tick).toDecimalPlaces(0).times(tick);
  return [
    {
      symbol: i % 41 === 0 ? 'XYZ' : instrument.symbol, // not on the allow-list
      side,
      type: market ? 'market' : stopLimit ? 'stop_limit' : 'limit',
      quantity: dec(option ? 1 + (i % 5) : 1 + (i % 50)),
      limitPrice: market ? null : stopLimit ? stopPrice : limit,
      stopPrice: stopLimit ? stopPrice : null,
      multiplier: instrument.multiplier,
      positionEffect: option ? ((side === 'sell') === instrument.position.isPositive() ? 'close' : 'open') : null,
    },
    instrument,
  ];
}

// The last 100 accepted orders, one every 600 ms: the newest 4 fall in the 2 s duplicate window.
const recentOrders: RecentOrder[] = Array.from({ length: 100 }, (_, n) => {
  const [{ symbol, side, type, quantity, limitPrice, stopPrice }] = intentFor(n);
  return { symbol, side, type, quantity, limitPrice, stopPrice, createdAt: NOW - 600 * n };
});

const allLimits: RiskLimits = {
  ...DEFAULT_RISK_LIMITS,
  allowedSymbols: [...EQUITIES.map(([symbol]) => symbol), 'root:SPXW'],
  maxPositionQuantity: dec(550),
  maxGrossExposure: dec(1_750_000),
  maxWorkingOrders: 100,
  duplicateWindowMs: 2_000,
  maxMessagesPerSecond: 10,
  maxMessagesPerMinute: 100, // under Schwab's 120 per minute
  maxDailyLoss: dec(25_000),
  allowMarketOrders: true,
  maxPositionLoss: dec(5_000),
  zeroDteCutoffMinutes: 30,
  priceCollarAbsolute: dec('0.10'),
  stopCollarPercent: dec(20),
  productCollars: {
    'root:SPXW': { percent: dec(20), absolute: dec('0.50') },
    SPY: { percent: dec(5), absolute: dec('0.05') },
  },
  maxOrderToTradeRatio: dec(50), // enforced by the gateway, not by the engine
};
const noMarketOrders: RiskLimits = { ...allLimits, allowMarketOrders: false };

type Sample = [OrderIntent, RiskContext, RiskLimits];
const allChecks: Sample[] = [];
const orderChecks: Sample[] = [];
for (let i = 0; i < 1_000; i++) {
  const [intent, instrument] = intentFor(i);
  const base: RiskContext = {
    quote: instrument.quote,
    quoteAgeMs: i % 97 === 0 ? 500_000 : 200,
    tradingState: i % 89 === 0 ? 'reducing' : i % 61 === 0 ? 'halted' : 'active',
    entriesBlockedReason: null,
    positionQuantity: instrument.position,
  };
  orderChecks.push([intent, base, DEFAULT_RISK_LIMITS]);
  allChecks.push([
    intent,
    {
      ...base,
      workingOrders,
      positions,
      recentOrders,
      now: NOW,
      marketNow: i % 13 === 0 ? IN_CUTOFF : NOW + 200,
      messageCounts: { lastSecond: i % 5, lastMinute: i % 50 === 0 ? 100 : (i * 7) % 100 },
      dailyPnl: { realized: dec(i % 37 === 0 ? -30_000 : -2_000), unrealized: dec((i % 11) * 300 - 1_500) },
    },
    i % 10 === 3 ? noMarketOrders : allLimits,
  ]);
}

function measure(label: string, engine: RiskEngine, samples: Sample[], rounds: number): void {
  for (let i = 0; i < 20_000; i++) {
    const [intent, ctx, limits] = samples[i % samples.length]!;
    engine.check(intent, ctx, limits); // warm-up
  }
  const micros: number[] = [];
  const deniedBy = new Map<string, number>();
  for (let r = 0; r < rounds; r++) {
    for (const [intent, ctx, limits] of samples) {
      const start = process.hrtime.bigint();
      const decision = engine.check(intent, ctx, limits);
      micros.push(Number(process.hrtime.bigint() - start) / 1_000);
      if (decision.kind === 'denied') {
        deniedBy.set(decision.code, (deniedBy.get(decision.code) ?? 0) + 1);
      }
    }
  }
  const s = summarise(micros);
  const percent = (n: number) => `${((100 * n) / micros.length).toFixed(1)}%`;
  const denied = [...deniedBy.values()].reduce((a, b) => a + b, 0);
  const codes = [...deniedBy].sort(([, a], [, b]) => b - a).map(([code, n]) => `${code} ${percent(n)}`);
  // The median alone jumps between the orders that value the gross exposure and those that need not.
  const mean = micros.reduce((a, b) => a + b, 0) / micros.length;
  console.log(
    `risk engine, ${label}: ${micros.length} orders (${percent(denied)} denied): ` +
      `median ${s.median.toFixed(2)} µs, mean ${mean.toFixed(2)} µs, p99 ${s.p99.toFixed(2)} µs, max ${s.max.toFixed(1)} µs per order\n` +
      `  denied by: ${codes.join(', ')}`,
  );
}

export function runRiskBench(rounds = 200): void {
  const engine = new RiskEngine();
  measure('all 18 checks, 20 positions, 50 working orders, 100 recent orders', engine, allChecks, rounds);
  measure('order checks only (no account context)', engine, orderChecks, rounds);
}
