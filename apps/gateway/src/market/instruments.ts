import {
  type Decimal,
  expiryTradingEnd,
  isExpired,
  parseInstrument,
  productOf,
  tickSizeFor,
  toDecimalString,
  type MarketDataFeed,
  type Product,
  type TickRule,
} from '@gateway/oms';
import { referencePrice } from '@gateway/risk';

/** A tick rule as a desk reads it: one tick, or one below `threshold` and another at and above it. */
export type TickRuleDto =
  { kind: 'flat'; tick: string } | { kind: 'stepped'; threshold: string; below: string; atOrAbove: string };

/** One tradable instrument with its product's rules (API.md "Additions": `GET /v1/instruments`). */
export interface InstrumentDto {
  symbol: string;
  kind: 'equity' | 'option';
  /** The OSI root of an option (`SPXW`), the ticker of shares. */
  root: string;
  /** The product (`SPY`, `root:SPXW`): the spelling of the risk limits' allowedSymbols. */
  product: string;
  description: string;
  underlying: string;
  multiplier: string;
  /** The minimum price increment at the current mark (or, without one, at and above a stepped rule's threshold). */
  tick: string;
  tickRule: TickRuleDto;
  /** `cash`/`physical` for options; `t+1` for shares (delivered the next business day). */
  settlement: 'cash' | 'physical' | 't+1';
  /** Options only; null for shares. */
  exercise: 'european' | 'american' | null;
  /** Regular session, America/New_York `HH:MM`. */
  session: { open: string; close: string };
  expiry?: string;
  strike?: string;
  right?: 'call' | 'put';
  /** Options: the last instant (ISO-8601 UTC) the series trades. */
  tradingEndsAt?: string;
}

export interface InstrumentFilter {
  /** Canonical symbol (padded OSI for an option). */
  readonly symbol?: string;
  /** OSI root of options, or a ticker. */
  readonly root?: string;
}

const hhmm = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

function tickRuleDto(rule: TickRule): TickRuleDto {
  return rule.kind === 'flat'
    ? { kind: 'flat', tick: toDecimalString(rule.tick) }
    : {
        kind: 'stepped',
        threshold: toDecimalString(rule.threshold),
        below: toDecimalString(rule.below),
        atOrAbove: toDecimalString(rule.atOrAbove),
      };
}

function tickAt(product: Product, mark: Decimal | null): Decimal {
  const rule = product.tickRule;
  return mark === null ? (rule.kind === 'flat' ? rule.tick : rule.atOrAbove) : tickSizeFor(product, mark);
}

/**
 * What this deployment can trade now: every symbol the market data quotes (`MarketDataFeed.symbols`, the
 * same list place-order accepts) that is a supported product (`productOf`: SPY, QQQ, IWM shares and any
 * US equity; SPX, SPXW, XSP, SPY, QQQ and IWM options) and, for an option, has not stopped trading on
 * the feed's clock (`isExpired` at `marketNow`). A symbol without quotes is not tradable here, however
 * well its product is known: with the recorded data of this deployment QQQ and IWM are not listed.
 * Sorted by symbol; filtered by `symbol` and `root` when given.
 */
export function listInstruments(market: MarketDataFeed, filter: InstrumentFilter = {}): InstrumentDto[] {
  const out: InstrumentDto[] = [];
  for (const symbol of [...market.symbols()].sort()) {
    const instrument = parseInstrument(symbol);
    const product = instrument ? productOf(instrument) : null;
    if (!instrument || !product) {
      continue;
    }
    const root = instrument.kind === 'option' ? instrument.root : instrument.symbol;
    if (
      (filter.symbol !== undefined && filter.symbol !== instrument.symbol) ||
      (filter.root !== undefined && filter.root !== root)
    ) {
      continue;
    }
    const now = market.marketNow(symbol) ?? Date.now();
    const quote = market.getQuote(symbol);
    const mark = quote ? (referencePrice(quote)?.price ?? null) : null;
    const common = {
      symbol: instrument.symbol,
      root,
      product: product.key,
      description: product.description,
      underlying: product.underlying,
      multiplier: toDecimalString(product.multiplier),
      tick: toDecimalString(tickAt(product, mark)),
      tickRule: tickRuleDto(product.tickRule),
      session: { open: hhmm(product.session.open), close: hhmm(product.session.close) },
    };
    if (instrument.kind === 'equity' || !('settlement' in product)) {
      out.push({ ...common, kind: 'equity', settlement: 't+1', exercise: null });
      continue;
    }
    if (isExpired(product, instrument, now)) {
      continue;
    }
    out.push({
      ...common,
      kind: 'option',
      settlement: product.settlement,
      exercise: product.exercise,
      expiry: instrument.expiry,
      strike: toDecimalString(instrument.strike),
      right: instrument.right,
      tradingEndsAt: new Date(expiryTradingEnd(product, instrument)).toISOString(),
    });
  }
  return out;
}
