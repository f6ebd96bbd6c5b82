import { Decimal } from './decimal.js';
import { type EquityInstrument, type Instrument, type OptionInstrument, parseInstrument } from './instrument.js';
import { tradingDayOf, zonedTimeToEpochMs } from './exchange-time.js';

/**
 * What a product is: options on a cash index (SPX, SPXW, XSP), options on an ETF (SPY, QQQ, IWM), the
 * ETF's shares, or any other US-listed stock (`us_equity`, a generic product with Reg NMS ticks).
 */
export type ProductKind = 'index_option' | 'etf_option' | 'etf_shares' | 'us_equity';

/**
 * A minimum price increment: one tick at every price (`flat`), or a smaller tick below `threshold` and
 * a larger one at and above it (`stepped`; Cboe SPX: 0.05 below 3.00, 0.10 from 3.00). Prices in USD per
 * share or contract, before the multiplier.
 */
export type TickRule =
  | { readonly kind: 'flat'; readonly tick: Decimal }
  | { readonly kind: 'stepped'; readonly threshold: Decimal; readonly below: Decimal; readonly atOrAbove: Decimal };

/**
 * A regular trading session, in minutes after midnight America/New_York (`open` 570 = 09:30,
 * `close` 975 = 16:15). Extended and global trading hours (Cboe GTH for SPX/SPXW/XSP, pre- and
 * post-market for shares) are not modelled, nor are half-day early closes.
 */
export interface TradingSession {
  readonly open: number;
  readonly close: number;
}

interface ProductFacts {
  /**
   * The product's identity, in the spelling of `RiskLimits.allowedSymbols`: the ticker for shares
   * (`SPY`), `root:<OSI root>` for options (`root:SPY`, `root:SPXW`). Products are not interchangeable:
   * `SPY` and `root:SPY` are two products.
   */
  readonly key: string;
  /** The ticker of the shares, or the OSI root of the options (`SPXW`). */
  readonly code: string;
  /** What it is written on: the index (`SPX`, `XSP`) or the ETF (`SPY`); a stock is its own underlying. */
  readonly underlying: string;
  readonly kind: ProductKind;
  readonly description: string;
  /** Contract multiplier: 100 for every option here (XSP too: one tenth of the SPX index, × 100), 1 for shares. */
  readonly multiplier: Decimal;
  readonly tickRule: TickRule;
  /** Regular session of a day on which the product does not expire. */
  readonly session: TradingSession;
  /** Where the facts above come from. */
  readonly source: string;
}

/** Options on one OSI root: index options (cash-settled, European) or ETF options (physical, American). */
export interface OptionProduct extends ProductFacts {
  readonly kind: 'index_option' | 'etf_option';
  /** `cash`: the intrinsic value is paid in USD; `physical`: exercise delivers the ETF's shares. */
  readonly settlement: 'cash' | 'physical';
  /** `european`: exercisable only at expiration; `american`: any business day up to it. */
  readonly exercise: 'european' | 'american';
  /**
   * `am`: the settlement value comes from the opening prices on the expiration date (SPX: the Special
   * Opening Quotation, SOQ, symbol SET); `pm`: from the close of the expiration date.
   */
  readonly settlementTime: 'am' | 'pm';
  /**
   * The last day a series trades: its expiration date (PM-settled), or the business day before it
   * (AM-settled SPX: trading has ended before the opening prints that settle it).
   */
  readonly lastTradingDay: 'expiration_date' | 'business_day_before';
  /** When trading in an expiring series ends on its last trading day, minutes after midnight New York. */
  readonly lastTradingDayClose: number;
}

/** Shares: the three ETFs, or any other US-listed stock (the generic `us_equity` product). */
export interface SharesProduct extends ProductFacts {
  readonly kind: 'etf_shares' | 'us_equity';
}

/**
 * A tradable product: the facts every order in it shares (multiplier, ticks, hours; for options settlement,
 * exercise and the last trading day). Get one with `productOf`; `kind` tells options from shares.
 */
export type Product = OptionProduct | SharesProduct;

const d = (text: string) => new Decimal(text);
const minutes = (hours: number, mins: number) => hours * 60 + mins;

const CENT = Object.freeze<TickRule>({ kind: 'flat', tick: d('0.01') });
/** Cboe SPX/SPXW: 0.05 below 3.00, 0.10 at and above. */
const NICKEL_DIME = Object.freeze<TickRule>({
  kind: 'stepped',
  threshold: d('3'),
  below: d('0.05'),
  atOrAbove: d('0.10'),
});
/** Reg NMS Rule 612: 0.0001 below 1.00, 0.01 at and above. */
const RULE_612 = Object.freeze<TickRule>({
  kind: 'stepped',
  threshold: d('1'),
  below: d('0.0001'),
  atOrAbove: d('0.01'),
});

const OPTIONS_SESSION = Object.freeze({ open: minutes(9, 30), close: minutes(16, 15) });
const SHARES_SESSION = Object.freeze({ open: minutes(9, 30), close: minutes(16, 0) });
const CLOSE_16_00 = minutes(16, 0);
const CLOSE_16_15 = minutes(16, 15);

const CBOE_SPX =
  'Cboe SPX Options Product Specification (cboe.com/tradable_products/sp_500/spx_options/specifications): ' +
  'SPX/SPXW, $100 multiplier, European, cash; 0.05 below 3.00, 0.10 otherwise; SPX trading ceases the ' +
  'business day before the exercise-settlement value (SET, from opening prices) is calculated, 3:15 pm CT; ' +
  'SPXW ceases on the expiration date, 3:00 pm CT. Cboe Rule 5.1(b)(2) (SR-CBOE-2024-053): index options ' +
  'trade 9:30 a.m. to 4:15 p.m. ET, p.m.-settled SPX and XSP and Weeklys/EOMs to 4:00 p.m. on their last trading day';
const CBOE_XSP =
  'Cboe XSP Options Product Specification (cboe.com/tradable_products/sp_500/mini_spx_options/specifications): ' +
  'Mini-SPX index = 1/10 of SPX, $100 multiplier, European, cash, PM-settled; minimum tick 0.01 for all ' +
  'series; last trading day is the expiration date, expiring series close at 4:00 p.m. ET; Cboe Rule 5.1(b)(2)';
const ETF_OPTIONS =
  'OCC/Cboe: ETF options are American-style and physically settled in shares (Cboe XSP cash-settlement page: ' +
  '"All equity (single stock) and ETF options physically deliver"); Penny Interval Program (MIAX alert ' +
  '2020-06-30, Scottrade, tastytrade): IWM, QQQ and SPY trade in $0.01 at every price; they are among the ' +
  'ETF option classes that trade to 4:15 p.m. ET (IG "Options that trade until 3:15 Central" list)';
const NMS_SHARES =
  'Reg NMS Rule 612 (SEC staff FAQ): no quote or order in an NMS stock at $1.00 or more in an increment ' +
  'below $0.01, below $1.00 not below $0.0001; regular session 9:30 a.m. to 4:00 p.m. ET';

/** Every option product by OSI root. */
const OPTION_PRODUCTS: ReadonlyMap<string, OptionProduct> = new Map(
  (
    [
      {
        key: 'root:SPX',
        code: 'SPX',
        underlying: 'SPX',
        kind: 'index_option',
        description: 'S&P 500 index options, standard monthly (third Friday), AM-settled (SOQ)',
        multiplier: d('100'),
        tickRule: NICKEL_DIME,
        session: OPTIONS_SESSION,
        settlement: 'cash',
        exercise: 'european',
        settlementTime: 'am',
        lastTradingDay: 'business_day_before',
        lastTradingDayClose: CLOSE_16_15,
        source: CBOE_SPX,
      },
      {
        key: 'root:SPXW',
        code: 'SPXW',
        underlying: 'SPX',
        kind: 'index_option',
        description: 'S&P 500 index options, Weeklys/dailies and EOMs (and PM third Fridays), PM-settled',
        multiplier: d('100'),
        tickRule: NICKEL_DIME,
        session: OPTIONS_SESSION,
        settlement: 'cash',
        exercise: 'european',
        settlementTime: 'pm',
        lastTradingDay: 'expiration_date',
        lastTradingDayClose: CLOSE_16_00,
        source: CBOE_SPX,
      },
      {
        key: 'root:XSP',
        code: 'XSP',
        underlying: 'XSP',
        kind: 'index_option',
        description: 'Mini-SPX index options (1/10 of the S&P 500 index), PM-settled',
        multiplier: d('100'),
        tickRule: CENT,
        session: OPTIONS_SESSION,
        settlement: 'cash',
        exercise: 'european',
        settlementTime: 'pm',
        lastTradingDay: 'expiration_date',
        lastTradingDayClose: CLOSE_16_00,
        source: CBOE_XSP,
      },
      ...['SPY', 'QQQ', 'IWM'].map((etf): OptionProduct => ({
        key: `root:${etf}`,
        code: etf,
        underlying: etf,
        kind: 'etf_option',
        description: `options on ${etf} shares, physically settled`,
        multiplier: d('100'),
        tickRule: CENT,
        session: OPTIONS_SESSION,
        settlement: 'physical',
        exercise: 'american',
        settlementTime: 'pm',
        lastTradingDay: 'expiration_date',
        // Unconfirmed: see `expiryTradingEnd`. 16:00 ET on the expiration date is kept (README, "Products").
        lastTradingDayClose: CLOSE_16_00,
        source: ETF_OPTIONS,
      })),
    ] satisfies OptionProduct[]
  ).map((product) => [product.code, Object.freeze(product)]),
);

const ETF_SHARES: ReadonlyMap<string, SharesProduct> = new Map(
  (
    [
      ['SPY', 'SPDR S&P 500 ETF Trust shares'],
      ['QQQ', 'Invesco QQQ Trust shares (Nasdaq-100)'],
      ['IWM', 'iShares Russell 2000 ETF shares'],
    ] as const
  ).map(([ticker, description]) => [
    ticker,
    Object.freeze<SharesProduct>({
      key: ticker,
      code: ticker,
      underlying: ticker,
      kind: 'etf_shares',
      description,
      multiplier: d('1'),
      tickRule: RULE_612,
      session: SHARES_SESSION,
      source: NMS_SHARES,
    }),
  ]),
);

/** Every product of the table (the ETF shares and the option roots); generic US equities are made on demand. */
export const PRODUCTS: readonly Product[] = Object.freeze([...ETF_SHARES.values(), ...OPTION_PRODUCTS.values()]);

/**
 * The product key of an instrument, whether or not it is a supported product: the ticker of an equity,
 * `root:<ROOT>` of an option (the `RiskLimits.allowedSymbols` and `productCollars` spelling).
 */
export function productKey(instrument: Instrument): string {
  return instrument.kind === 'equity' ? instrument.symbol : `root:${instrument.root}`;
}

/**
 * The product of an instrument, or null when it is not one we support: an option on any root but SPX,
 * SPXW, XSP, SPY, QQQ and IWM is null. Equities are always a product: SPY, QQQ and IWM shares from the
 * table, any other ticker the generic `us_equity` product (multiplier 1, Reg NMS Rule 612 ticks, 09:30–16:00
 * ET): the gateway trades US-listed stocks, and a ticker's listing is the market data feed's business, not
 * this table's. The amended Rule 612 (2024) adds a $0.005 increment for stocks with a narrow time-weighted
 * average quoted spread, assigned per evaluation period; that assignment is not known here, so every stock
 * is held to 0.01 (a valid price under either increment).
 */
export function productOf(instrument: Instrument): Product | null {
  if (instrument.kind === 'option') {
    return OPTION_PRODUCTS.get(instrument.root) ?? null;
  }
  return ETF_SHARES.get(instrument.symbol) ?? usEquity(instrument);
}

function usEquity(instrument: EquityInstrument): SharesProduct {
  return {
    key: instrument.symbol,
    code: instrument.symbol,
    underlying: instrument.symbol,
    kind: 'us_equity',
    description: `${instrument.symbol} shares (a US-listed stock)`,
    multiplier: d('1'),
    tickRule: RULE_612,
    session: SHARES_SESSION,
    source: NMS_SHARES,
  };
}

/**
 * The minimum price increment of `product` at `price` (USD per share or contract, before the multiplier):
 * - SPX, SPXW: 0.05 below 3.00, 0.10 at and above (Cboe SPX spec; simple orders: complex orders' legs
 *   may trade in 0.01, not modelled);
 * - XSP: 0.01 for all series (Cboe XSP spec);
 * - SPY, QQQ, IWM options: 0.01 at every price. "Penny-pilot classes 0.01 below 3.00 and 0.05 above" is
 *   not their rule: it is the Penny Interval Program's rule for its other classes; IWM, QQQ and SPY are its
 *   named exception, $0.01 regardless of price (MIAX alert 2020-06-30; Titan Regulation on the 2020 Penny
 *   Program plan; Scottrade, tastytrade), so 3.27 is a valid SPY option price and is not denied;
 * - shares: 0.01 at and above 1.00, 0.0001 below (Reg NMS Rule 612).
 */
export function tickSizeFor(product: Product, price: Decimal): Decimal {
  const rule = product.tickRule;
  switch (rule.kind) {
    case 'flat':
      return rule.tick;
    case 'stepped':
      return price.lessThan(rule.threshold) ? rule.below : rule.atOrAbove;
  }
}

/** Whether `price` is a whole number of ticks of `product` at that price (`tickSizeFor`). */
export function isOnTickGrid(product: Product, price: Decimal): boolean {
  return price.modulo(tickSizeFor(product, price)).isZero();
}

/**
 * The last trading date of an option, `YYYY-MM-DD`: its expiration date, or for AM-settled SPX the
 * weekday before it. Exchange holidays are not modelled: when the day before an AM expiration is a
 * holiday, the real last trading day is earlier than this.
 */
export function lastTradingDate(product: OptionProduct, option: OptionInstrument): string {
  switch (product.lastTradingDay) {
    case 'expiration_date':
      return option.expiry;
    case 'business_day_before':
      return previousWeekday(option.expiry);
  }
}

/**
 * Epoch ms at which trading in an option ends for good: its product's `lastTradingDayClose` (America/New_York)
 * on its `lastTradingDate`. The option can trade at any instant before it, not at it or after.
 * - SPXW, XSP: 16:00 ET on the expiration date (Cboe Rule 5.1(b)(2)(C); Cboe SPX spec "3:00 pm CT").
 * - SPX (AM-settled): 16:15 ET on the business day before expiration (Cboe SPX spec "3:15pm CT").
 * - SPY, QQQ, IWM options: 16:00 ET on the expiration date (README, "Products"). NOT CONFIRMED: the
 *   sources found (IG's list of classes trading to 3:15 pm CT, with an exception for PM-settled cash
 *   index options only; traders' reports of QQQ trading at 16:10 on its expiration day) suggest expiring
 *   ETF options may trade to 16:15 ET. 16:00 is the conservative end for entries; change
 *   `lastTradingDayClose` in the table when confirmed.
 * Half-day early closes (13:00 ET, or 13:15 for options) and exchange holidays are out of scope.
 */
export function expiryTradingEnd(product: OptionProduct, option: OptionInstrument): number {
  return zonedTimeToEpochMs(lastTradingDate(product, option), product.lastTradingDayClose * MS_PER_MINUTE);
}

/** Whether the option can no longer trade at `now` (epoch ms): `now` is at or after `expiryTradingEnd`. */
export function isExpired(product: OptionProduct, option: OptionInstrument, now: number): boolean {
  return now >= expiryTradingEnd(product, option);
}

/** Whether the option expires on the America/New_York date of `now` (epoch ms): a 0DTE option. */
export function isZeroDte(option: OptionInstrument, now: number): boolean {
  return tradingDayOf(now) === option.expiry;
}

/** `HH:MM` of minutes after midnight (975 → `16:15`), for messages. */
export function formatSessionTime(minutesOfDay: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(minutesOfDay / 60))}:${pad(minutesOfDay % 60)}`;
}

const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 86_400_000;

/** The weekday before `date` (`YYYY-MM-DD`): Friday for a Monday. */
function previousWeekday(date: string): string {
  const [y, m, day] = date.split('-').map(Number) as [number, number, number];
  let t = Date.UTC(y, m - 1, day) - MS_PER_DAY;
  while (new Date(t).getUTCDay() === 0 || new Date(t).getUTCDay() === 6) {
    t -= MS_PER_DAY;
  }
  return new Date(t).toISOString().slice(0, 10);
}

/**
 * The contract multiplier of a symbol (an equity ticker or an OSI option symbol): its product's, else the
 * instrument's own (100 for a standard option, 1 for shares), and 1 for text that is neither. Everything
 * that values an order, a fill or a position takes it from here, so products never borrow each other's.
 */
export function contractMultiplier(symbol: string): Decimal {
  const instrument = parseInstrument(symbol);
  if (!instrument) {
    return new Decimal(1);
  }
  return productOf(instrument)?.multiplier ?? instrument.multiplier;
}
