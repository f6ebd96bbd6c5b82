import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Decimal, parseInstrument } from '@gateway/oms';
import { describe, expect, it } from 'vitest';
import { resolveMarketDataDir } from './market-data-dir.js';
import { type QuoteEvent, type TradeEvent, loadMarketData } from './market-data-loader.js';
import { defaultMarketDataSets } from './market-data-sets.js';

const dataDir = resolveMarketDataDir(fileURLToPath(new URL('../../../../', import.meta.url)));
const data = loadMarketData(dataDir, defaultMarketDataSets());
const quotes = (symbol: string): QuoteEvent[] =>
  data.events.filter((e): e is QuoteEvent => e.kind === 'quote' && e.symbol === symbol);
const trades = data.events.filter((e): e is TradeEvent => e.kind === 'trade');
const csvRows = (file: string): string[][] =>
  readFileSync(path.join(dataDir, file), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(','));

describe('loadMarketData', () => {
  it('reads the SPY 09:30:00 second bar as an open quote and a close quote 999 ms later, prices exact', () => {
    const [open, close] = quotes('SPY');
    // Row 1: 34200000,1674100,1674300,1674100,1674300,1500,1674100,1674500,1674100,1674500,33000
    expect(open).toMatchObject({ timeOfDayMs: 34_200_000, source: 'spy_20131007_second_quote' });
    expect(open!.bid.toFixed()).toBe('167.41');
    expect(open!.ask.toFixed()).toBe('167.41');
    expect(open!.bidSize.toFixed()).toBe('1500');
    expect(open!.askSize.toFixed()).toBe('33000');
    expect(open!.ts).toBe(Date.parse('2013-10-07T13:30:00.000Z')); // 09:30 EDT = UTC−4
    expect(close).toMatchObject({ timeOfDayMs: 34_200_999 });
    expect(close!.bid.toFixed()).toBe('167.43');
    expect(close!.ask.toFixed()).toBe('167.45');
    expect(close!.ts).toBe(Date.parse('2013-10-07T13:30:00.999Z'));
  });

  it('emits a close quote only when the close differs from the open', () => {
    const rows = csvRows('spy_20131007_second_quote_0930_1000.csv');
    const expected = rows.reduce((n, r) => n + 1 + (r[1] !== r[4] || r[6] !== r[9] ? 1 : 0), 0);
    expect(quotes('SPY')).toHaveLength(expected);
    // 09:30:04 is a bar whose open equals its close: one quote only.
    expect(quotes('SPY').filter((q) => q.timeOfDayMs >= 34_204_000 && q.timeOfDayMs < 34_205_000)).toHaveLength(1);
  });

  it('converts every price without floating point (a price no binary float holds exactly)', () => {
    for (const q of quotes('SPY')) {
      expect(q.bid.times(10_000).isInteger()).toBe(true);
    }
    const row = csvRows('spy_20131007_second_quote_0930_1000.csv').find((r) => r[0] === '35999000')!;
    const last = quotes('SPY').find((q) => q.timeOfDayMs === 35_999_000)!;
    expect(last.bid.equals(new Decimal(row[1]!).dividedBy(10_000))).toBe(true);
  });

  it('reads every SPY trade with its price, size, exchange and sale condition', () => {
    const rows = csvRows('spy_20131007_tick_trade_0930_1000.csv');
    expect(trades).toHaveLength(rows.filter((r) => r[5] !== '1').length);
    const first = trades[0]!;
    expect(first.timeOfDayMs).toBe(34_200_007);
    expect(first.trade.price.toFixed()).toBe('167.41');
    expect(first.trade.size.toFixed()).toBe('500');
    expect(first.trade).toMatchObject({ symbol: 'SPY', exchange: 'Q', saleCondition: '2000', lastSaleEligible: true });
    const officialOpen = trades.find((t) => t.trade.saleCondition === '4000000')!;
    expect(officialOpen.trade.lastSaleEligible).toBe(false);
  });

  it('keeps events in time order, a quote before a trade of its symbol at the same ms', () => {
    let outOfOrder = 0;
    let tradeBeforeQuote = 0;
    let sameMsPairs = 0;
    for (let i = 1; i < data.events.length; i++) {
      const [a, b] = [data.events[i - 1]!, data.events[i]!];
      if (b.timeOfDayMs < a.timeOfDayMs) {
        outOfOrder++;
      }
      const symbolOf = (e: typeof a): string => (e.kind === 'quote' ? e.symbol : e.trade.symbol);
      if (a.timeOfDayMs === b.timeOfDayMs && a.kind !== b.kind && symbolOf(a) === symbolOf(b)) {
        sameMsPairs++;
        if (a.kind === 'trade') {
          tradeBeforeQuote++;
        }
      }
    }
    expect(outOfOrder).toBe(0);
    expect(sameMsPairs).toBeGreaterThan(0); // the data has trades on the ms of a bar's open or close
    expect(tradeBeforeQuote).toBe(0);
  });

  it('names SPXW contracts of the replayed date by padded OSI symbol, 0DTE included', () => {
    const spxw = [...data.instruments.keys()].filter((s) => s.startsWith('SPXW'));
    expect(spxw).toHaveLength(12); // 2021-01-04: 3700/3800 C/P expiring 01-04, 01-06, 01-08
    expect(spxw).toContain('SPXW  210104C03700000');
    expect(parseInstrument('SPXW  210104C03700000')).toMatchObject({
      kind: 'option',
      expiry: '2021-01-04',
      right: 'call',
    });
    expect(data.instruments.get('SPXW  210104C03700000')).toEqual({
      symbol: 'SPXW  210104C03700000',
      date: '2021-01-04',
      quoteSource: 'spxw_20210104_minute_quote',
      tradeSource: null,
    });
    // 20210104,SPXW,european,C,3700,20210104,34200000,651000,671000,635000,649000,48,692000,707000,674000,679000,15
    const [open, close] = quotes('SPXW  210104C03700000');
    expect(open!.bid.toFixed()).toBe('65.1');
    expect(open!.ask.toFixed()).toBe('69.2');
    expect(open!.ts).toBe(Date.parse('2021-01-04T14:30:00.000Z')); // 09:30 EST = UTC−5
    expect(close).toMatchObject({ timeOfDayMs: 34_259_999 });
    expect(close!.bid.toFixed()).toBe('64.9');
    expect(close!.ask.toFixed()).toBe('67.9');
    expect(close!.bidSize.toFixed()).toBe('48');
    expect(close!.askSize.toFixed()).toBe('15');
  });

  it('keeps a missing bid as a zero bid and skips quotes without an ask', () => {
    // 20210106,SPXW,european,C,3800,20210106,34260000,,,,,0,500,500,500,500,5 (the only row with a missing side)
    const d = loadMarketData(dataDir, defaultMarketDataSets({ spxwDate: '20210106' }));
    const q = d.events.find(
      (e): e is QuoteEvent =>
        e.kind === 'quote' && e.symbol === 'SPXW  210106C03800000' && e.timeOfDayMs === 34_260_000,
    )!;
    expect(q.bid.isZero()).toBe(true);
    expect(q.bidSize.isZero()).toBe(true);
    expect(q.ask.toFixed()).toBe('0.05');
    expect(q.ts).toBe(Date.parse('2021-01-06T14:31:00.000Z'));

    const dir = mkdtempSync(path.join(tmpdir(), 'paper-data-'));
    writeFileSync(
      path.join(dir, 'q.csv'),
      '34200000,100,100,100,100,10,0,0,0,0,0\n34201000,100,100,100,100,10,200,200,200,200,5\n',
    );
    const only = loadMarketData(dir, [
      { kind: 'lean_quote_bars', id: 'q', file: 'q.csv', symbol: 'XYZ', date: '2013-10-07', barMs: 1000 },
    ]);
    expect(only.events.map((e) => e.timeOfDayMs)).toEqual([34_201_000]);
  });

  it('names file and line of a malformed row, and refuses one symbol on two trade dates', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'paper-data-'));
    writeFileSync(path.join(dir, 't.csv'), '34200007,1674100,500,Q,2000,0\n34200008,167.41,500,Q,2000,0\n');
    expect(() =>
      loadMarketData(dir, [{ kind: 'lean_trade_ticks', id: 't', file: 't.csv', symbol: 'SPY', date: '2013-10-07' }]),
    ).toThrow(/t\.csv:2: price is not an integer price × 10000: "167\.41"/);
    expect(() =>
      loadMarketData(dataDir, [
        ...defaultMarketDataSets(),
        {
          kind: 'lean_quote_bars',
          id: 'spy_2023',
          file: 'spy_20230803_minute_quote.csv',
          symbol: 'SPY',
          date: '2023-08-03',
          barMs: 60_000,
        },
      ]),
    ).toThrow(/SPY has data of two trade dates/);
  });

  it('loads another data set from the list without engine changes (SPY 2023-08-03 minute quotes)', () => {
    const d = loadMarketData(dataDir, [
      {
        kind: 'lean_quote_bars',
        id: 'spy_20230803_minute_quote',
        file: 'spy_20230803_minute_quote.csv',
        symbol: 'SPY',
        date: '20230803',
        barMs: 60_000,
      },
    ]);
    const first = d.events[0] as QuoteEvent;
    const row = csvRows('spy_20230803_minute_quote.csv')[0]!;
    expect(first.timeOfDayMs).toBe(Number(row[0]));
    expect(first.bid.equals(new Decimal(row[1]!).dividedBy(10_000))).toBe(true);
    expect(d.instruments.get('SPY')?.date).toBe('2023-08-03');
  });
});
