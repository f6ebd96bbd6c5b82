import { describe, expect, it } from 'vitest';
import { Decimal } from './decimal.js';
import { parseInstrument, type Instrument, type OptionInstrument } from './instrument.js';
import {
  contractMultiplier,
  expiryTradingEnd,
  formatSessionTime,
  isExpired,
  isOnTickGrid,
  isZeroDte,
  lastTradingDate,
  PRODUCTS,
  productKey,
  productOf,
  tickSizeFor,
  type OptionProduct,
  type Product,
} from './product.js';

const instrument = (symbol: string): Instrument => {
  const parsed = parseInstrument(symbol);
  if (parsed === null) {
    throw new Error(`bad symbol in a test: ${symbol}`);
  }
  return parsed;
};
const option = (symbol: string) => instrument(symbol) as OptionInstrument;
const product = (symbol: string): Product => {
  const found = productOf(instrument(symbol));
  if (found === null) {
    throw new Error(`no product for ${symbol}`);
  }
  return found;
};
const optionProduct = (symbol: string) => product(symbol) as OptionProduct;
const d = (text: string) => new Decimal(text);

describe('productOf', () => {
  it.each([
    // symbol, key, kind, underlying, multiplier, settlement, exercise, settlementTime, last trading day
    [
      'SPX   210115C03700000',
      'root:SPX',
      'index_option',
      'SPX',
      '100',
      'cash',
      'european',
      'am',
      'business_day_before',
    ],
    ['SPXW  210104C03700000', 'root:SPXW', 'index_option', 'SPX', '100', 'cash', 'european', 'pm', 'expiration_date'],
    ['XSP   210104C00370000', 'root:XSP', 'index_option', 'XSP', '100', 'cash', 'european', 'pm', 'expiration_date'],
    ['SPY   210104P00370000', 'root:SPY', 'etf_option', 'SPY', '100', 'physical', 'american', 'pm', 'expiration_date'],
    ['QQQ   210104C00310000', 'root:QQQ', 'etf_option', 'QQQ', '100', 'physical', 'american', 'pm', 'expiration_date'],
    ['IWM   210104C00200000', 'root:IWM', 'etf_option', 'IWM', '100', 'physical', 'american', 'pm', 'expiration_date'],
  ] as const)('%s is %s', (symbol, key, kind, underlying, multiplier, settlement, exercise, time, lastDay) => {
    const p = optionProduct(symbol);
    expect({
      key: p.key,
      kind: p.kind,
      underlying: p.underlying,
      multiplier: p.multiplier.toFixed(),
      settlement: p.settlement,
      exercise: p.exercise,
      settlementTime: p.settlementTime,
      lastTradingDay: p.lastTradingDay,
      session: [formatSessionTime(p.session.open), formatSessionTime(p.session.close)],
    }).toEqual({
      key,
      kind,
      underlying,
      multiplier,
      settlement,
      exercise,
      settlementTime: time,
      lastTradingDay: lastDay,
      session: ['09:30', '16:15'],
    });
  });

  it.each([
    ['SPY', 'SPY', 'etf_shares'],
    ['QQQ', 'QQQ', 'etf_shares'],
    ['IWM', 'IWM', 'etf_shares'],
    ['AAPL', 'AAPL', 'us_equity'],
    ['BRK.B', 'BRK.B', 'us_equity'],
  ] as const)('%s shares: product %s (%s), multiplier 1, 09:30–16:00', (symbol, key, kind) => {
    const p = product(symbol);
    expect([p.key, p.kind, p.code, p.multiplier.toFixed()]).toEqual([key, kind, symbol, '1']);
    expect([formatSessionTime(p.session.open), formatSessionTime(p.session.close)]).toEqual(['09:30', '16:00']);
  });

  it('keeps shares and options apart: SPY is not root:SPY', () => {
    expect(product('SPY').key).toBe('SPY');
    expect(product('SPY   210104P00370000').key).toBe('root:SPY');
    expect(product('SPY').kind).not.toBe(product('SPY   210104P00370000').kind);
  });

  it.each(['AAPL  210115C00130000', 'SPXPM 210104C03700000', 'NDX   210104C12000000', 'SPY1  210104C00370000'])(
    'an option on an unsupported root is no product: %s',
    (symbol) => {
      expect(productOf(instrument(symbol))).toBeNull();
    },
  );

  it('lists every product of the table once, frozen', () => {
    expect(PRODUCTS.map((p) => p.key).sort()).toEqual(
      ['IWM', 'QQQ', 'SPY', 'root:IWM', 'root:QQQ', 'root:SPX', 'root:SPXW', 'root:SPY', 'root:XSP'].sort(),
    );
    expect(PRODUCTS.every((p) => Object.isFrozen(p))).toBe(true);
  });
});

describe('productKey', () => {
  it('spells products as the allow-list does, supported or not', () => {
    expect(productKey(instrument('SPY'))).toBe('SPY');
    expect(productKey(instrument('SPXW210104C03700000'))).toBe('root:SPXW');
    expect(productKey(instrument('AAPL  210115C00130000'))).toBe('root:AAPL');
  });
});

describe('tickSizeFor / isOnTickGrid', () => {
  const SPXW = 'SPXW  210104C03700000';
  const SPX = 'SPX   210115C03700000';
  const XSP = 'XSP   210104C00370000';
  const SPY_OPT = 'SPY   210104P00370000';
  it.each([
    // SPX, SPXW: 0.05 below 3.00, 0.10 from 3.00 (Cboe SPX spec)
    [SPXW, '2.95', '0.05', true],
    [SPXW, '2.97', '0.05', false],
    [SPXW, '2.99', '0.05', false],
    [SPXW, '3.00', '0.1', true],
    [SPXW, '3.05', '0.1', false],
    [SPXW, '3.10', '0.1', true],
    [SPXW, '4.90', '0.1', true],
    [SPXW, '4.95', '0.1', false],
    [SPXW, '0.05', '0.05', true],
    [SPXW, '0.01', '0.05', false],
    [SPX, '2.95', '0.05', true],
    [SPX, '3.05', '0.1', false],
    // XSP: 0.01 for all series (Cboe XSP spec)
    [XSP, '0.01', '0.01', true],
    [XSP, '2.99', '0.01', true],
    [XSP, '3.01', '0.01', true],
    [XSP, '3.015', '0.01', false],
    // SPY, QQQ, IWM options: 0.01 at every price (Penny Interval Program)
    [SPY_OPT, '3.27', '0.01', true],
    [SPY_OPT, '12.34', '0.01', true],
    [SPY_OPT, '2.995', '0.01', false],
    ['QQQ   210104C00310000', '7.77', '0.01', true],
    ['IWM   210104C00200000', '0.005', '0.01', false],
    // shares: Reg NMS Rule 612, 0.01 from 1.00, 0.0001 below
    ['SPY', '167.41', '0.01', true],
    ['SPY', '167.415', '0.01', false],
    ['AAPL', '1.00', '0.01', true],
    ['AAPL', '1.0001', '0.01', false],
    ['AAPL', '0.9999', '0.0001', true],
    ['AAPL', '0.99995', '0.0001', false],
  ] as const)('%s at %s: tick %s, on the grid: %s', (symbol, price, tick, onGrid) => {
    const p = product(symbol);
    expect(tickSizeFor(p, d(price)).toFixed()).toBe(tick);
    expect(isOnTickGrid(p, d(price))).toBe(onGrid);
  });
});

describe('expiryTradingEnd / isExpired / isZeroDte (America/New_York)', () => {
  const iso = (ms: number) => new Date(ms).toISOString();
  it.each([
    // SPXW: 16:00 ET on the expiration date; EST (UTC−5) in January, EDT (UTC−4) in July
    ['SPXW  210104C03700000', '2021-01-04', '2021-01-04T21:00:00.000Z'],
    ['SPXW  210707C04300000', '2021-07-07', '2021-07-07T20:00:00.000Z'],
    ['XSP   210104C00370000', '2021-01-04', '2021-01-04T21:00:00.000Z'],
    ['SPY   210104P00370000', '2021-01-04', '2021-01-04T21:00:00.000Z'],
    ['QQQ   210716C00360000', '2021-07-16', '2021-07-16T20:00:00.000Z'],
    // SPX (AM-settled, third Friday): 16:15 ET the business day before
    ['SPX   210115C03700000', '2021-01-14', '2021-01-14T21:15:00.000Z'],
    ['SPX   210716C04300000', '2021-07-15', '2021-07-15T20:15:00.000Z'],
    // an AM expiration on a Monday would last trade on the Friday before
    ['SPX   210111C03700000', '2021-01-08', '2021-01-08T21:15:00.000Z'],
    // DST weeks: 2021-03-14 (to EDT) and 2021-11-07 (to EST), both Sundays
    ['SPXW  210315C03900000', '2021-03-15', '2021-03-15T20:00:00.000Z'],
    ['SPXW  210312C03900000', '2021-03-12', '2021-03-12T21:00:00.000Z'],
    ['SPXW  211108C04600000', '2021-11-08', '2021-11-08T21:00:00.000Z'],
    ['SPXW  211105C04600000', '2021-11-05', '2021-11-05T20:00:00.000Z'],
  ] as const)('%s: last trades %s, until %s', (symbol, lastDay, end) => {
    const o = option(symbol);
    const p = optionProduct(symbol);
    expect(lastTradingDate(p, o)).toBe(lastDay);
    expect(iso(expiryTradingEnd(p, o))).toBe(end);
  });

  it('is expired from the trading end on, not a millisecond before', () => {
    const o = option('SPXW  210104C03700000');
    const p = optionProduct('SPXW  210104C03700000');
    const end = Date.parse('2021-01-04T21:00:00.000Z');
    expect(isExpired(p, o, end - 1)).toBe(false);
    expect(isExpired(p, o, end)).toBe(true);
    expect(isExpired(p, o, end + 86_400_000)).toBe(true);
    const spx = option('SPX   210115C03700000');
    // AM-settled SPX is expired on its expiration morning already
    expect(isExpired(optionProduct('SPX   210115C03700000'), spx, Date.parse('2021-01-15T14:30:00.000Z'))).toBe(true);
    expect(isExpired(optionProduct('SPX   210115C03700000'), spx, Date.parse('2021-01-14T21:14:59.999Z'))).toBe(false);
  });

  it.each([
    ['2021-01-04 00:00 ET (05:00Z)', '2021-01-04T05:00:00.000Z', true],
    ['2021-01-03 23:59:59.999 ET', '2021-01-04T04:59:59.999Z', false],
    ['2021-01-04 10:30 ET', '2021-01-04T15:30:00.000Z', true],
    ['2021-01-04 23:59:59.999 ET (next day in UTC)', '2021-01-05T04:59:59.999Z', true],
    ['2021-01-05 00:00 ET', '2021-01-05T05:00:00.000Z', false],
  ] as const)('isZeroDte for a 2021-01-04 expiry at %s: %s', (_name, at, expected) => {
    expect(isZeroDte(option('SPXW  210104C03700000'), Date.parse(at))).toBe(expected);
  });
});

describe('contractMultiplier', () => {
  it.each([
    ['SPY', '1'],
    ['AAPL', '1'],
    ['SPXW  210104C03700000', '100'],
    ['XSP   210104C00370000', '100'],
    ['SPY   210104C00370000', '100'],
    ['not a symbol!', '1'],
  ])('%s → %s', (symbol, multiplier) => {
    expect(contractMultiplier(symbol).toFixed()).toBe(multiplier);
  });
});
