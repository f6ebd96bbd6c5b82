import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Decimal } from '@gateway/oms';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Quote } from '../market-data.js';
import { resolveMarketDataDir } from './market-data-dir.js';
import { loadMarketData } from './market-data-loader.js';
import { defaultMarketDataSets } from './market-data-sets.js';
import { MarketReplay } from './market-replay.js';
import { isLastSaleEligible } from './sale-condition.js';

const dataDir = resolveMarketDataDir(fileURLToPath(new URL('../../../../', import.meta.url)));
const data = loadMarketData(dataDir, defaultMarketDataSets());
const CALL_0DTE = 'SPXW  210104C03700000';
const SPY_OPEN_EPOCH = Date.parse('2013-10-07T13:30:00.000Z'); // 09:30:00 EDT

const rows = (file: string): string[][] =>
  readFileSync(path.join(dataDir, file), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(','));
const spyTrades = rows('spy_20131007_tick_trade_0930_1000.csv');

/** The price of the last eligible SPY trade at or before `timeOfDayMs`, read from the CSV. */
function lastTradeAt(timeOfDayMs: number): string {
  const row = spyTrades.filter((r) => Number(r[0]) <= timeOfDayMs && isLastSaleEligible(r[4]!)).at(-1)!;
  return new Decimal(row[1]!).dividedBy(10_000).toFixed();
}

function quoteTimeOfDay(quote: Quote): number {
  return 34_200_000 + (quote.ts - SPY_OPEN_EPOCH);
}

const paused = (extra: Partial<ConstructorParameters<typeof MarketReplay>[0]> = {}): MarketReplay =>
  new MarketReplay({ data, paused: true, ...extra });

afterEach(() => {
  vi.useRealTimers();
});

describe('MarketReplay', () => {
  it('loads from the data directory and starts at the window start with its first quotes applied', () => {
    const replay = new MarketReplay({ dataDir, paused: true });
    expect(replay.state()).toEqual({
      timeOfDay: '09:30:00.000',
      timeOfDayMs: 34_200_000,
      paused: true,
      speed: 1,
      loops: 0,
      running: false,
    });
    const spy = replay.getQuote('SPY')!;
    expect(spy.bid.toFixed()).toBe('167.41');
    expect(spy.ask.toFixed()).toBe('167.41');
    expect(spy.last).toBeNull(); // the first trade prints at 09:30:00.007
    expect(spy.ts).toBe(SPY_OPEN_EPOCH);
    expect(replay.getQuote(CALL_0DTE)!.ask.toFixed()).toBe('69.2');
    expect(replay.symbols()).toContain('SPY');
    expect(replay.symbols()).toHaveLength(13);
  });

  it('stepTo applies every event up to and including the target', () => {
    const replay = paused();
    replay.stepTo('09:30:00.998');
    expect(replay.getQuote('SPY')!.ask.toFixed()).toBe('167.41');
    expect(replay.getQuote('SPY')!.last?.toFixed()).toBe(lastTradeAt(34_200_998));
    replay.stepTo('09:30:00.999');
    const close = replay.getQuote('SPY')!;
    expect(close.bid.toFixed()).toBe('167.43');
    expect(close.ask.toFixed()).toBe('167.45');
    expect(close.ts).toBe(SPY_OPEN_EPOCH + 999);
    expect(close.last?.toFixed()).toBe(lastTradeAt(34_200_999));
    expect(replay.state().timeOfDay).toBe('09:30:00.999');
    expect(replay.recordedEpochMs('SPY')).toBe(SPY_OPEN_EPOCH + 999);
    expect(replay.recordedEpochMs(CALL_0DTE)).toBe(Date.parse('2021-01-04T14:30:00.999Z'));
  });

  it('is deterministic: one jump and many small steps deliver the same events and end in the same state', () => {
    const record = (replay: MarketReplay): string[] => {
      const log: string[] = [];
      replay.onQuote((q) =>
        log.push(
          `Q ${q.symbol} ${q.ts} ${q.bid.toFixed()}x${q.bidSize.toFixed()} ${q.ask.toFixed()}x${q.askSize.toFixed()}`,
        ),
      );
      replay.onTrade((t) => log.push(`T ${t.symbol} ${t.ts} ${t.price.toFixed()}x${t.size.toFixed()} ${t.exchange}`));
      return log;
    };
    const a = paused();
    const b = paused();
    const logA = record(a);
    const logB = record(b);
    a.stepTo('09:32:00');
    while (b.timeOfDayMs() + 777 < 34_320_000) {
      b.advanceBy(777);
    }
    b.stepTo('09:32:00');
    expect(logA.length).toBeGreaterThan(1000);
    expect(logB).toEqual(logA);
    expect(b.getQuote('SPY')).toEqual(a.getQuote('SPY'));
    expect(b.getQuote(CALL_0DTE)).toEqual(a.getQuote(CALL_0DTE));
  });

  it('measures quote age in replayed time on each data set’s own day', () => {
    const replay = paused();
    replay.stepTo('09:30:05.500');
    expect(replay.quoteAgeMs(replay.getQuote('SPY')!)).toBe(500); // the 09:30:05 bar's open
    expect(replay.quoteAgeMs(replay.getQuote(CALL_0DTE)!)).toBe(5_500); // the 09:30 minute bar's open
    const copy = { ...replay.getQuote(CALL_0DTE)! };
    expect(replay.quoteAgeMs(copy)).toBe(5_500);
    expect(replay.quoteAgeMs({ ...copy, symbol: 'NOPE' })).toBe(Number.POSITIVE_INFINITY);
  });

  it('loops at the window end back to the window start, with quote ages counted across the wrap', () => {
    const replay = paused({ window: { start: '09:30:00', end: '09:31:00' } });
    replay.stepTo('09:30:50');
    const before = replay.getQuote('SPY')!;
    const beforeTime = quoteTimeOfDay(before);
    expect(beforeTime).toBeLessThanOrEqual(34_250_000);

    replay.stepTo('09:30:10'); // earlier than now: wraps into the next loop
    expect(replay.state()).toMatchObject({ timeOfDay: '09:30:10.000', loops: 1 });
    expect(replay.quoteAgeMs(before)).toBe(60_000 + (34_210_000 - beforeTime));
    expect(replay.quoteAgeMs({ ...before })).toBe(60_000 + (34_210_000 - beforeTime));

    const fresh = paused();
    fresh.stepTo('09:30:10');
    expect(replay.getQuote('SPY')).toEqual(fresh.getQuote('SPY'));
    expect(replay.quoteAgeMs(replay.getQuote('SPY')!)).toBe(fresh.quoteAgeMs(fresh.getQuote('SPY')!));

    replay.advanceBy(50_000); // 09:31:00 is the next loop's 09:30:00
    expect(replay.state()).toMatchObject({ timeOfDay: '09:30:00.000', loops: 2 });
    expect(replay.getQuote('SPY')!.bid.toFixed()).toBe('167.41');
  });

  it('advances on a timer by elapsed wall time × speed; pause, resume, speed and stop', () => {
    vi.useFakeTimers();
    const replay = new MarketReplay({ data, speed: 10, tickIntervalMs: 100, clock: { now: () => Date.now() } });
    replay.start();
    expect(replay.state()).toMatchObject({ running: true, paused: false });
    vi.advanceTimersByTime(1_000);
    expect(replay.state().timeOfDay).toBe('09:30:10.000');
    replay.pause();
    vi.advanceTimersByTime(1_000);
    expect(replay.state()).toMatchObject({ timeOfDay: '09:30:10.000', paused: true });
    replay.resume();
    replay.setSpeed(100);
    vi.advanceTimersByTime(100);
    expect(replay.state()).toMatchObject({ timeOfDay: '09:30:20.000', speed: 100 });
    replay.setSpeed(0);
    vi.advanceTimersByTime(1_000);
    expect(replay.state()).toMatchObject({ timeOfDay: '09:30:20.000', paused: true });
    replay.setSpeed(1);
    replay.stop();
    vi.advanceTimersByTime(1_000);
    expect(replay.state()).toMatchObject({ timeOfDay: '09:30:20.000', running: false });
    expect(replay.getQuote('SPY')!.ts).toBe(SPY_OPEN_EPOCH + 20_000);
  });

  it('hands a listener error to onError and refuses to move the clock from inside a listener', () => {
    const errors: unknown[] = [];
    const replay = paused({ onError: (e) => errors.push(e) });
    replay.onQuote(() => replay.stepTo('09:30:30'));
    replay.stepTo('09:30:01');
    expect(errors.length).toBeGreaterThan(0);
    expect(String(errors[0])).toMatch(/cannot be moved from inside a quote or trade listener/);
    expect(replay.state().timeOfDay).toBe('09:30:01.000');
  });

  it('starts a later window from the state recorded before it', () => {
    const late = paused({ window: { start: '09:30:30', end: '09:31:00' } });
    const full = paused();
    full.stepTo('09:30:30');
    expect(late.getQuote('SPY')).toEqual(full.getQuote('SPY'));
    expect(late.getQuote('SPY')!.last).not.toBeNull();
    expect(late.quoteAgeMs(late.getQuote(CALL_0DTE)!)).toBe(30_000);
  });

  it('refuses times outside the window', () => {
    expect(() => paused({ startTime: '09:29:59' })).toThrow(RangeError);
    expect(() => paused().stepTo('10:00:00')).toThrow(RangeError);
    expect(paused({ startTime: '09:45:00' }).getQuote('SPY')!.ts).toBe(SPY_OPEN_EPOCH + 15 * 60_000);
  });
});
