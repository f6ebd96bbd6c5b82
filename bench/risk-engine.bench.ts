/**
 * Cost of the pre-trade risk engine per order, all checks on, in microseconds (median and p99), over a
 * mix of SPY and SPXW orders that pass and fail. Pure CPU: no database, no network.
 * `npm run bench -- risk`
 */
import { Decimal } from '@gateway/oms';
import type { Quote } from '@gateway/brokers';
import { DEFAULT_RISK_LIMITS, type OrderIntent, type RiskContext, RiskEngine } from '@gateway/risk';
import { summarise } from './stats.js';

const quote = (symbol: string, bid: string, ask: string): Quote => ({
  symbol,
  bid: new Decimal(bid),
  ask: new Decimal(ask),
  bidSize: new Decimal(1000),
  askSize: new Decimal(1000),
  last: new Decimal(bid),
  ts: 0,
  source: 'bench',
});
const spy = quote('SPY', '167.41', '167.42');
const call = quote('SPXW  210104C03700000', '65.1', '69.2');

const intents: [OrderIntent, RiskContext][] = [];
for (let i = 0; i < 1_000; i++) {
  const option = i % 3 === 0;
  const q = option ? call : spy;
  intents.push([
    {
      symbol: q.symbol,
      side: i % 2 === 0 ? 'buy' : 'sell',
      type: i % 4 === 0 ? 'market' : 'limit',
      quantity: new Decimal(1 + (i % 50)),
      limitPrice: i % 4 === 0 ? null : q.ask.plus(new Decimal(i % 7).dividedBy(100)),
      stopPrice: null,
      multiplier: new Decimal(option ? 100 : 1),
      positionEffect: null,
    },
    {
      quote: q,
      quoteAgeMs: i % 97 === 0 ? 500_000 : 200,
      tradingState: i % 89 === 0 ? 'reducing' : 'active',
      entriesBlockedReason: null,
      positionQuantity: new Decimal(i % 11),
    },
  ]);
}

export function runRiskBench(rounds = 200): void {
  const engine = new RiskEngine();
  for (let i = 0; i < 20_000; i++) {
    const [intent, ctx] = intents[i % intents.length]!;
    engine.check(intent, ctx, DEFAULT_RISK_LIMITS); // warm-up
  }
  const samples: number[] = [];
  let denied = 0;
  for (let r = 0; r < rounds; r++) {
    for (const [intent, ctx] of intents) {
      const start = process.hrtime.bigint();
      const decision = engine.check(intent, ctx, DEFAULT_RISK_LIMITS);
      samples.push(Number(process.hrtime.bigint() - start) / 1_000);
      if (decision.kind === 'denied') {
        denied++;
      }
    }
  }
  const s = summarise(samples);
  console.log(
    `risk engine, all checks: ${samples.length} orders (${((100 * denied) / samples.length).toFixed(1)}% denied): ` +
      `median ${s.median.toFixed(2)} µs, p99 ${s.p99.toFixed(2)} µs, max ${s.max.toFixed(1)} µs per order`,
  );
}
