import { defaultMarketDataSets, loadMarketData, MarketReplay, type MarketDataFeed } from '@gateway/brokers';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { listInstruments } from './instruments.js';

const config = loadConfig({});
const data = loadMarketData(config.paper.marketDataDir, defaultMarketDataSets({ spxwDate: config.paper.spxwDate }));
const replay = (startTime: string) => new MarketReplay({ data, paused: true, startTime });

describe('listInstruments (the recorded market data of the paper venue)', () => {
  it('lists SPY shares and the replayed SPXW options with their rules, and nothing the data does not quote', () => {
    const feed = replay('09:30:05');
    const all = listInstruments(feed);
    const spy = all.find((i) => i.symbol === 'SPY');
    expect(spy).toMatchObject({
      kind: 'equity',
      root: 'SPY',
      product: 'SPY',
      multiplier: '1',
      tick: '0.01',
      settlement: 't+1',
      exercise: null,
      tickRule: { kind: 'stepped', threshold: '1', below: '0.0001', atOrAbove: '0.01' },
    });
    const spxw = all.filter((i) => i.root === 'SPXW');
    expect(spxw.length).toBeGreaterThan(0);
    expect(spxw[0]).toMatchObject({
      kind: 'option',
      product: 'root:SPXW',
      multiplier: '100',
      settlement: 'cash',
      exercise: 'european',
      tickRule: { kind: 'stepped', threshold: '3', below: '0.05', atOrAbove: '0.1' },
    });
    expect(['0.05', '0.1']).toContain(spxw[0]!.tick);
    expect(spxw[0]!.symbol).toHaveLength(21);
    // Every listed symbol is one the market data quotes: place-order accepts exactly these.
    expect(all.every((i) => feed.symbols().includes(i.symbol))).toBe(true);
    // QQQ and IWM are supported products, but the recorded data has no quotes of them.
    expect(all.some((i) => i.root === 'QQQ' || i.root === 'IWM')).toBe(false);
  });

  it('filters by root and by exact symbol', () => {
    const feed = replay('09:30:05');
    const spxw = listInstruments(feed, { root: 'SPXW' });
    expect(spxw.every((i) => i.root === 'SPXW')).toBe(true);
    const one = spxw[0]!;
    expect(listInstruments(feed, { symbol: one.symbol })).toEqual([one]);
    expect(listInstruments(feed, { root: 'QQQ' })).toEqual([]);
    expect(listInstruments(feed, { symbol: 'SPY' }).map((i) => i.symbol)).toEqual(['SPY']);
  });

  it('drops an option once its series has stopped trading on the market clock', () => {
    const feed = replay('09:30:05');
    const spxw = listInstruments(feed, { root: 'SPXW' });
    const first = spxw[0]!;
    const endMs = Date.parse(first.tradingEndsAt!);
    expect(endMs).toBeGreaterThan(feed.marketNow(first.symbol)!);
    // The replay's window ends before any close: the same feed, its clock read at the series' end.
    const atEnd: MarketDataFeed = {
      getQuote: (symbol) => feed.getQuote(symbol),
      symbols: () => feed.symbols(),
      quoteAgeMs: (quote) => feed.quoteAgeMs(quote),
      marketNow: () => endMs,
      onQuote: (listener) => feed.onQuote(listener),
    };
    const after = listInstruments(atEnd, { root: 'SPXW' });
    const ended = spxw.filter((i) => Date.parse(i.tradingEndsAt!) <= endMs).map((i) => i.symbol);
    expect(ended).toContain(first.symbol);
    expect(after.map((i) => i.symbol).filter((s) => ended.includes(s))).toEqual([]);
    expect(after.length).toBe(spxw.length - ended.length);
  });
});
