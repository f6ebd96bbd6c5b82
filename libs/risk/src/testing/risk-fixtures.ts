// Builders for the risk specs (not exported from index.ts). Prices are realistic: SPY around 167.41,
// an SPXW 0DTE call around 4.90 with a 20-cent spread, multiplier 100.
import type { Quote } from '@gateway/brokers';
import { Decimal } from '@gateway/oms';
import type { OrderIntent } from '../order-intent.js';
import type { RiskContext } from '../risk-context.js';
import { DEFAULT_RISK_LIMITS, type RiskLimits } from '../risk-limits.js';

export const SPY = 'SPY';
export const SPXW_CALL = 'SPXW  210104C03700000';
export const limits: RiskLimits = DEFAULT_RISK_LIMITS;

export function d(text: string): Decimal {
  return new Decimal(text);
}

export function quote(overrides: Partial<Quote> = {}): Quote {
  return {
    symbol: SPY,
    bid: d('167.40'),
    ask: d('167.42'),
    bidSize: d('300'),
    askSize: d('500'),
    last: d('167.41'),
    ts: Date.UTC(2021, 0, 4, 15, 30),
    source: 'test',
    ...overrides,
  };
}

export function spxwQuote(overrides: Partial<Quote> = {}): Quote {
  return quote({
    symbol: SPXW_CALL,
    bid: d('4.80'),
    ask: d('5.00'),
    bidSize: d('25'),
    askSize: d('40'),
    last: d('4.90'),
    ...overrides,
  });
}

/** Buy 100 SPY limit 167.41, no position effect. */
export function intent(overrides: Partial<OrderIntent> = {}): OrderIntent {
  return {
    symbol: SPY,
    side: 'buy',
    type: 'limit',
    quantity: d('100'),
    limitPrice: d('167.41'),
    stopPrice: null,
    multiplier: d('1'),
    positionEffect: null,
    ...overrides,
  };
}

/** Buy 10 SPXW calls limit 4.90. */
export function spxwIntent(overrides: Partial<OrderIntent> = {}): OrderIntent {
  return intent({ symbol: SPXW_CALL, quantity: d('10'), limitPrice: d('4.90'), multiplier: d('100'), ...overrides });
}

/** An active account, flat, with a 1-second-old SPY quote. */
export function context(overrides: Partial<RiskContext> = {}): RiskContext {
  return {
    quote: quote(),
    quoteAgeMs: 1_000,
    tradingState: 'active',
    entriesBlockedReason: null,
    positionQuantity: d('0'),
    ...overrides,
  };
}

export function spxwContext(overrides: Partial<RiskContext> = {}): RiskContext {
  return context({ quote: spxwQuote(), quoteAgeMs: 30_000, ...overrides });
}
