import { Decimal } from '@gateway/oms';
import { describe, expect, it } from 'vitest';
import type { Quote } from '../market-data.js';
import {
  type EngineEvent,
  type EngineOrderInit,
  type MarketState,
  MatchingEngine,
  validateOrder,
} from './matching-engine.js';
import type { TradePrint } from './trade-print.js';

const d = (text: string): Decimal => new Decimal(text);
const NOW = 1_000;
const RECORDED = 1_609_770_600_000;

function quote(bid: string, ask: string, bidSize = '100', askSize = '100'): Quote {
  return {
    symbol: 'SPY',
    bid: d(bid),
    ask: d(ask),
    bidSize: d(bidSize),
    askSize: d(askSize),
    last: null,
    ts: 0,
    source: 't',
  };
}

function trade(price: string, size = '50', lastSaleEligible = true): TradePrint {
  return {
    symbol: 'SPY',
    price: d(price),
    size: d(size),
    ts: RECORDED + 7,
    source: 't',
    exchange: 'P',
    saleCondition: '0',
    lastSaleEligible,
  };
}

function market(fields: Partial<MarketState> = {}): MarketState {
  return { now: NOW, quote: undefined, lastTrade: undefined, recordedAt: RECORDED, hasTrades: true, ...fields };
}

let sequence = 0;
function order(fields: Partial<EngineOrderInit> = {}): EngineOrderInit {
  sequence += 1;
  return {
    brokerOrderId: `b-${sequence}`,
    clientOrderId: `c-${sequence}`,
    symbol: 'SPY',
    side: 'buy',
    type: 'market',
    timeInForce: 'day',
    quantity: d('100'),
    limitPrice: null,
    stopPrice: null,
    ...fields,
  };
}

function engine(): MatchingEngine {
  let ids = 0;
  return new MatchingEngine({ symbol: 'SPY', newExecutionId: () => `x-${++ids}` });
}

/** The events as short strings: kind, status, and a fill's quantity@price/liquidity. */
function summary(events: readonly EngineEvent[]): string[] {
  return events.map((e) => {
    switch (e.kind) {
      case 'filled':
        return `filled ${e.fill.quantity.toFixed()}@${e.fill.price.toFixed()} ${e.fill.liquidity} → ${e.order.status}`;
      case 'canceled':
        return `canceled (${e.reason})`;
      case 'accepted':
      case 'triggered':
      case 'rested':
      case 'replaced':
        return e.kind;
    }
  });
}

/** Books and activates `init` against `q` (and the last trade), returning the activation's events. */
function arrive(e: MatchingEngine, init: EngineOrderInit, state: Partial<MarketState>): string[] {
  e.submit(init, NOW);
  return summary(e.activate(init.brokerOrderId, market(state)));
}

describe('MatchingEngine on arrival', () => {
  const cases: readonly {
    readonly name: string;
    readonly order: Partial<EngineOrderInit>;
    readonly quote?: Quote;
    readonly lastTrade?: TradePrint;
    readonly hasTrades?: boolean;
    readonly expected: readonly string[];
  }[] = [
    {
      name: 'market buy takes the displayed ask size at the ask',
      order: {},
      quote: quote('10.00', '10.02', '100', '60'),
      expected: ['filled 60@10.02 taker → partially_filled'],
    },
    {
      name: 'market sell fills whole at the bid',
      order: { side: 'sell' },
      quote: quote('10.00', '10.02', '500'),
      expected: ['filled 100@10 taker → filled'],
    },
    { name: 'market order without a quote waits', order: {}, expected: [] },
    {
      name: 'marketable buy limit fills at the ask, not its limit',
      order: { type: 'limit', limitPrice: d('10.05') },
      quote: quote('10.00', '10.02', '100', '500'),
      expected: ['filled 100@10.02 taker → filled'],
    },
    {
      name: 'non-marketable limit rests',
      order: { type: 'limit', limitPrice: d('9.99') },
      quote: quote('10.00', '10.02'),
      expected: ['rested'],
    },
    {
      name: 'IOC takes what is shown and cancels the remainder',
      order: { timeInForce: 'ioc' },
      quote: quote('10.00', '10.02', '100', '30'),
      expected: ['filled 30@10.02 taker → partially_filled', 'canceled (IOC: remainder canceled)'],
    },
    {
      name: 'IOC not marketable is canceled',
      order: { type: 'limit', limitPrice: d('9'), timeInForce: 'ioc' },
      quote: quote('10.00', '10.02'),
      expected: ['canceled (IOC: not marketable)'],
    },
    {
      name: 'FOK the displayed size does not cover is canceled whole',
      order: { timeInForce: 'fok' },
      quote: quote('10.00', '10.02', '100', '99'),
      expected: ['canceled (FOK: displayed size does not cover the order)'],
    },
    {
      name: 'FOK covered fills whole',
      order: { timeInForce: 'fok' },
      quote: quote('10.00', '10.02', '100', '100'),
      expected: ['filled 100@10.02 taker → filled'],
    },
    {
      name: 'buy stop below the last trade triggers at once and takes the ask',
      order: { type: 'stop', stopPrice: d('10.01') },
      quote: quote('10.00', '10.02', '100', '500'),
      lastTrade: trade('10.01'),
      expected: ['triggered', 'filled 100@10.02 taker → filled'],
    },
    {
      name: 'buy stop above the last trade waits',
      order: { type: 'stop', stopPrice: d('10.50') },
      quote: quote('10.00', '10.02'),
      lastTrade: trade('10.01'),
      expected: [],
    },
    {
      name: 'without trade data a sell stop triggers on the bid',
      order: { side: 'sell', type: 'stop_limit', stopPrice: d('10.00'), limitPrice: d('9.50') },
      quote: quote('10.00', '10.02'),
      hasTrades: false,
      expected: ['triggered', 'filled 100@10 taker → filled'],
    },
  ];
  it.each(cases)('$name', ({ order: fields, quote: q, lastTrade, hasTrades, expected }) => {
    expect(arrive(engine(), order(fields), { quote: q, lastTrade, hasTrades: hasTrades ?? true })).toEqual(expected);
  });
});

describe('MatchingEngine on market data', () => {
  const cases: readonly {
    readonly name: string;
    readonly order: Partial<EngineOrderInit>;
    readonly arrivalQuote: Quote;
    readonly data: readonly (Quote | TradePrint)[];
    readonly hasTrades?: boolean;
    readonly expected: readonly string[];
  }[] = [
    {
      name: 'a resting buy limit fills at its limit when a trade prints through it, up to the trade size',
      order: { type: 'limit', limitPrice: d('10.00') },
      arrivalQuote: quote('10.00', '10.02'),
      data: [trade('9.99', '40')],
      expected: ['filled 40@10 maker → partially_filled'],
    },
    {
      name: 'a print above a resting buy limit does nothing',
      order: { type: 'limit', limitPrice: d('10.00') },
      arrivalQuote: quote('10.00', '10.02'),
      data: [trade('10.01')],
      expected: [],
    },
    {
      name: 'a print that is not last-sale eligible does not fill',
      order: { type: 'limit', limitPrice: d('10.00') },
      arrivalQuote: quote('10.00', '10.02'),
      data: [{ ...trade('9.90'), lastSaleEligible: false }],
      expected: [],
    },
    {
      name: 'a resting limit the quote reaches fills at its own limit (maker)',
      order: { type: 'limit', limitPrice: d('10.00') },
      arrivalQuote: quote('9.98', '10.02'),
      data: [quote('9.97', '9.99', '100', '30')],
      expected: ['filled 30@10 maker → partially_filled'],
    },
    {
      name: 'an unchanged quote side is not a new offer',
      order: {},
      arrivalQuote: quote('10.00', '10.02', '100', '30'),
      data: [quote('10.01', '10.02', '100', '30'), quote('10.01', '10.02', '100', '40')],
      expected: ['filled 40@10.02 taker → partially_filled'],
    },
    {
      name: 'a buy stop triggers on a trade at its stop, then takes the ask',
      order: { type: 'stop', stopPrice: d('10.05') },
      arrivalQuote: quote('10.00', '10.02'),
      data: [quote('10.04', '10.06', '100', '500'), trade('10.05')],
      expected: ['triggered', 'filled 100@10.06 taker → filled'],
    },
    {
      name: 'with trade data a quote does not trigger a stop',
      order: { type: 'stop', stopPrice: d('10.05') },
      arrivalQuote: quote('10.00', '10.02'),
      data: [quote('10.04', '10.06', '100', '500')],
      expected: [],
    },
    {
      name: 'without trade data the quote triggers a buy stop at the ask',
      order: { type: 'stop', stopPrice: d('10.05') },
      arrivalQuote: quote('10.00', '10.02'),
      data: [quote('10.04', '10.06', '100', '500')],
      hasTrades: false,
      expected: ['triggered', 'filled 100@10.06 taker → filled'],
    },
  ];
  it.each(cases)('$name', ({ order: fields, arrivalQuote, data, hasTrades, expected }) => {
    const e = engine();
    const init = order(fields);
    const trades = hasTrades ?? true;
    e.onQuote(arrivalQuote, market({ quote: arrivalQuote, hasTrades: trades }));
    arrive(e, init, { quote: arrivalQuote, hasTrades: trades });
    let current = arrivalQuote;
    const events: EngineEvent[] = [];
    for (const item of data) {
      if ('bid' in item) {
        current = item;
        events.push(...e.onQuote(item, market({ quote: item, hasTrades: trades })));
      } else {
        events.push(...e.onTrade(item, market({ quote: current, lastTrade: item, hasTrades: trades })));
      }
    }
    expect(summary(events)).toEqual(expected);
  });
});

describe('MatchingEngine requests', () => {
  it('cancels a working order once, and keeps a done order as it is', () => {
    const e = engine();
    const init = order({ type: 'limit', limitPrice: d('9') });
    arrive(e, init, { quote: quote('10', '10.02') });
    expect(summary(e.cancel(init.brokerOrderId, 'canceled by client', NOW))).toEqual(['canceled (canceled by client)']);
    expect(e.cancel(init.brokerOrderId, 'again', NOW)).toEqual([]);
    expect(e.order(init.brokerOrderId)).toMatchObject({ status: 'canceled', reason: 'canceled by client' });
  });

  it('replaces: the old order ends replaced, the replacement is booked new and matched on activation', () => {
    const e = engine();
    const old = order({ type: 'limit', limitPrice: d('9') });
    const q = quote('10', '10.02', '100', '500');
    arrive(e, old, { quote: q });
    const replacement = order({ type: 'limit', limitPrice: d('10.05') });
    const events = e.replace(old.brokerOrderId, replacement, NOW + 1);
    expect(summary(events)).toEqual(['replaced', 'accepted']);
    expect(events[0]).toMatchObject({ by: { brokerOrderId: replacement.brokerOrderId } });
    expect(e.order(old.brokerOrderId)).toMatchObject({
      status: 'replaced',
      reason: `replaced by ${replacement.clientOrderId}`,
    });
    expect(summary(e.activate(replacement.brokerOrderId, market({ quote: q })))).toEqual([
      'filled 100@10.02 taker → filled',
    ]);
  });

  it('a late fill of a canceled order keeps it canceled unless it completes it', () => {
    const e = engine();
    const init = order({ type: 'limit', limitPrice: d('9') });
    arrive(e, init, { quote: quote('10', '10.02') });
    e.cancel(init.brokerOrderId, 'canceled by client', NOW);
    expect(summary(e.fill(init.brokerOrderId, d('40'), d('9'), 'maker', RECORDED, NOW))).toEqual([
      'filled 40@9 maker → canceled',
    ]);
    expect(summary(e.fill(init.brokerOrderId, d('60'), d('9'), 'maker', RECORDED, NOW))).toEqual([
      'filled 60@9 maker → filled',
    ]);
  });

  it('stamps fills with the time given and the recorded market time, and takes no clock of its own', () => {
    const e = engine();
    const init = order();
    e.submit(init, 5);
    const [event] = e.activate(init.brokerOrderId, market({ now: 42, recordedAt: 7, quote: quote('10', '10.02') }));
    expect(event).toMatchObject({
      kind: 'filled',
      fill: { brokerExecutionId: 'x-1', executedAt: 7, reportedAt: 42 },
      order: { createdAt: 5, updatedAt: 42 },
    });
  });

  it('events carry snapshots: a later change does not alter an earlier event', () => {
    const e = engine();
    const init = order({ timeInForce: 'ioc' });
    const events = arrive(e, init, { quote: quote('10', '10.02', '100', '30') });
    expect(events).toEqual(['filled 30@10.02 taker → partially_filled', 'canceled (IOC: remainder canceled)']);
  });

  const invalid: readonly [string, Partial<EngineOrderInit>, string | null][] = [
    ['a valid market order', {}, null],
    ['zero quantity', { quantity: d('0') }, 'quantity must be positive'],
    ['a limit order without a limit price', { type: 'limit' }, 'limit price required for a limit order'],
    ['a market order with a limit price', { limitPrice: d('1') }, 'no limit price allowed for a market order'],
    ['a stop order without a stop price', { type: 'stop' }, 'stop price required for a stop order'],
    ['a negative price', { type: 'limit', limitPrice: d('-1') }, 'prices must be positive'],
    [
      'a fractional option quantity',
      { symbol: 'SPXW  210104C03700000', quantity: d('1.5') },
      'option quantity must be a whole number of contracts',
    ],
  ];
  it.each(invalid)('validateOrder: %s', (_name, fields, expected) => {
    expect(validateOrder(order(fields))).toBe(expected);
  });
});
