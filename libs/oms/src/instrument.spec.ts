import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Decimal } from './decimal.js';
import { formatOsiSymbol, parseInstrument, type OptionInstrument } from './instrument.js';

describe('parseInstrument: equities', () => {
  it.each(['SPY', 'A', 'QQQ', 'GOOGL', 'BRK.B', 'BF/B', 'ABCDEF'])('%s is an equity with multiplier 1', (symbol) => {
    const instrument = parseInstrument(symbol);
    expect(instrument).toMatchObject({ kind: 'equity', symbol });
    expect(instrument?.multiplier.toFixed()).toBe('1');
  });
});

describe('parseInstrument: OSI options', () => {
  it.each([
    ['SPXW  210104C03700000', { root: 'SPXW', expiry: '2021-01-04', right: 'call', strike: '3700' }],
    ['SPXW210104C03700000', { root: 'SPXW', expiry: '2021-01-04', right: 'call', strike: '3700' }],
    ['SPY   240621P00545500', { root: 'SPY', expiry: '2024-06-21', right: 'put', strike: '545.5' }],
    ['SPY240621P00545500', { root: 'SPY', expiry: '2024-06-21', right: 'put', strike: '545.5' }],
    ['X     301231C00000500', { root: 'X', expiry: '2030-12-31', right: 'call', strike: '0.5' }],
    ['SPY1  240229C00400000', { root: 'SPY1', expiry: '2024-02-29', right: 'call', strike: '400' }],
    ['SPY1240229C00400000', { root: 'SPY1', expiry: '2024-02-29', right: 'call', strike: '400' }],
    ['ABCDEF210104P12345678', { root: 'ABCDEF', expiry: '2021-01-04', right: 'put', strike: '12345.678' }],
  ] as const)('%j', (text, expected) => {
    const instrument = parseInstrument(text);
    expect(instrument?.kind).toBe('option');
    const option = instrument as OptionInstrument;
    expect(option.symbol).toBe(`${expected.root.padEnd(6, ' ')}${text.slice(-15)}`);
    expect(option.symbol).toHaveLength(21);
    expect({ root: option.root, expiry: option.expiry, right: option.right, strike: option.strike.toFixed() }).toEqual(
      expected,
    );
    expect(option.multiplier.toFixed()).toBe('100');
  });

  it('normalises the unpadded form to the padded one', () => {
    expect(parseInstrument('SPXW210104C03700000')?.symbol).toBe('SPXW  210104C03700000');
    expect(parseInstrument('SPXW  210104C03700000')?.symbol).toBe('SPXW  210104C03700000');
  });
});

describe('parseInstrument: refused', () => {
  it.each([
    ['one space short', 'SPXW 210104C03700000'],
    ['one space too many', 'SPXW   210104C03700000'],
    ['leading space', ' SPXW 210104C03700000'],
    ['trailing space', 'SPXW  210104C03700000 '],
    ['padding with a tab', 'SPXW\t\t210104C03700000'],
    ['lower case', 'spxw  210104c03700000'],
    ['lower-case equity', 'spy'],
    ['month 00', 'SPXW  210004C03700000'],
    ['month 13', 'SPXW  211304C03700000'],
    ['day 00', 'SPXW  210100C03700000'],
    ['day 32', 'SPXW  210132C03700000'],
    ['31 April', 'SPXW  210431C03700000'],
    ['29 February in a common year', 'SPXW  210229C03700000'],
    ['right X', 'SPXW  210104X03700000'],
    ['7-digit strike', 'SPXW  210104C3700000'],
    ['9-digit strike', 'SPXW  210104C037000000'],
    ['7-character root', 'SPXWXYZ210104C03700000'],
    ['root starting with a digit', '1SPX  210104C03700000'],
    ['empty', ''],
    ['spaces', '      '],
    ['punctuation', 'SPY!'],
    ['too long for a ticker', 'TOOLONGTICKER'],
    ['decimal strike', 'SPXW  210104C3700.000'],
  ])('%s: %j', (_why, text) => {
    expect(parseInstrument(text)).toBeNull();
  });
});

describe('formatOsiSymbol', () => {
  it('formats the padded 21-character symbol', () => {
    expect(formatOsiSymbol('SPXW', '2021-01-04', 'call', new Decimal('3700'))).toBe('SPXW  210104C03700000');
    expect(formatOsiSymbol('SPY', '2024-06-21', 'put', new Decimal('545.5'))).toBe('SPY   240621P00545500');
  });

  const root = fc
    .tuple(
      fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'),
      fc.array(fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'), { maxLength: 5 }),
    )
    .map(([first, rest]) => first + rest.join(''));
  const two = (n: number) => String(n).padStart(2, '0');
  const expiry = fc
    .tuple(fc.integer({ min: 2000, max: 2099 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }))
    .map(([y, m, day]) => `${y}-${two(m)}-${two(Math.min(day, new Date(Date.UTC(y, m, 0)).getUTCDate()))}`);
  const right = fc.constantFrom<'call' | 'put'>('call', 'put');
  const strike = fc.integer({ min: 0, max: 99_999_999 }).map((n) => new Decimal(n).dividedBy(1000));

  it('round-trips through parseInstrument, padded and unpadded (property)', () => {
    fc.assert(
      fc.property(root, expiry, right, strike, (r, e, ri, s) => {
        const symbol = formatOsiSymbol(r, e, ri, s);
        expect(symbol).toHaveLength(21);
        const parsed = parseInstrument(symbol);
        expect(parsed?.kind).toBe('option');
        const option = parsed as OptionInstrument;
        expect(option.symbol).toBe(symbol);
        expect(option.root).toBe(r);
        expect(option.expiry).toBe(e);
        expect(option.right).toBe(ri);
        expect(option.strike.eq(s)).toBe(true);
        expect(parseInstrument(symbol.replace(/ /g, ''))?.symbol).toBe(symbol);
      }),
    );
  });
});
