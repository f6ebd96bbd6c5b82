import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bookFigures, DepthBookReplay, loadLobsterBooks, WOBI_WEIGHTS } from './lobster-books.js';
import { resolveMarketDataDir } from './market-data-dir.js';
import { loadMarketData } from './market-data-loader.js';
import { defaultMarketDataSets } from './market-data-sets.js';
import { MarketReplay } from './market-replay.js';

const dataDir = resolveMarketDataDir(fileURLToPath(new URL('../../../../', import.meta.url)));

describe('bookFigures', () => {
  const sizes = (n: number) => Array.from({ length: 10 }, () => n);

  it('weighs level i by 1/i in the WOBI and none in the liquidity imbalance', () => {
    // Level 1: 300 bid, 100 ask; every other level 100 bid, 300 ask.
    const bidSizes = [300, ...sizes(100).slice(1)];
    const askSizes = [100, ...sizes(300).slice(1)];
    const figures = bookFigures({ time: 34200.5, bidSizes, askSizes, bestBid: 5853300, bestAsk: 5859400 });
    expect(WOBI_WEIGHTS[0]).toBe(1);
    expect(WOBI_WEIGHTS[9]).toBeCloseTo(0.1, 10);
    const diff = WOBI_WEIGHTS.reduce((s, wi, i) => s + wi * (bidSizes[i]! - askSizes[i]!), 0);
    const sum = WOBI_WEIGHTS.reduce((s, wi, i) => s + wi * (bidSizes[i]! + askSizes[i]!), 0);
    expect(figures.wobi).toBeCloseTo(diff / sum, 4);
    expect(figures.wobi).toBeGreaterThan(-0.5); // the touch's bid weight pulls it up from the unweighted −0.4
    expect(figures.imbalancePercent).toBeCloseTo((100 * (1200 - 2800)) / 4000, 4);
    expect(figures.levels[0]).toBe(0.5);
    expect(figures.levels[1]).toBe(-0.5);
    expect(figures).toMatchObject({ time: '09:30:00.500', bestBid: '585.33', bestAsk: '585.94' });
  });
});

describe('the LOBSTER books on the replay clock', () => {
  const books = loadLobsterBooks(dataDir)!;

  it('reads the sample: 999 books with their message times', () => {
    expect(books).toHaveLength(999);
    expect(books[0]).toMatchObject({ time: 34200.004241176, bestAsk: 5859400, bestBid: 5853300 });
    expect(loadLobsterBooks('/nonexistent')).toBeNull();
  });

  it('has the book recorded at a time of day in force then, and loops over the sample span', () => {
    const replay = new DepthBookReplay(books);
    expect(replay.at(34_000_000)!.time).toBe('09:30:00.004'); // before the first: the first
    const at5 = replay.at(34_205_000)!;
    expect(at5.time >= '09:30:04' && at5.time <= '09:30:05').toBe(true);
    const last = books.at(-1)!.time;
    const span = (last - books[0]!.time + 1) * 1_000;
    // One span later, the same book again (a new pass).
    expect(replay.at(34_205_000 + span)!.time).toBe(at5.time);
  });

  it('moves with the paper replay: MarketReplay.orderBook follows its clock, and stands still while paused', () => {
    const data = loadMarketData(dataDir, defaultMarketDataSets());
    const replay = new MarketReplay({ data, depthBooks: books, paused: true, startTime: '09:30:02' });
    const before = replay.orderBook()!;
    expect(before.time < '09:30:02.001').toBe(true);
    expect(replay.orderBook()).toEqual(before);
    replay.stepTo('09:30:20');
    const after = replay.orderBook()!;
    expect(after.time > '09:30:19' && after.time <= '09:30:20').toBe(true);
    expect(after).not.toEqual(before);
    expect(new MarketReplay({ data, paused: true }).orderBook()).toBeNull();
    expect(new MarketReplay({ dataDir, paused: true, startTime: '09:30:10' }).orderBook()!.time).toMatch(
      /^09:30:(09|10)/,
    );
  });
});
