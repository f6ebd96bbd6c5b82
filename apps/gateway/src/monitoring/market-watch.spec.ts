import { MarketReplay } from '@gateway/brokers';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { MarketWatch } from './market-watch.js';

const replay = new MarketReplay({ dataDir: loadConfig({}).paper.marketDataDir, paused: true, startTime: '09:30:05' });

describe('MarketWatch: the data veto and since when it holds', () => {
  it('stamps a stale quote with when it was first seen stale, keeps that time, and clears it once fresh', () => {
    const strict = new MarketWatch(replay, 0); // every quote older than 0 ms is stale
    strict.start();
    // An SPXW option of the minute quotes: its quote is seconds old at 09:30:05.
    const symbol = replay
      .symbols()
      .find((s) => {
        const quote = replay.getQuote(s);
        return quote !== undefined && replay.quoteAgeMs(quote) > 0;
      })!
      .trim();
    const first = strict.sample(null, 1_000).find((m) => m.symbol === symbol)!;
    const age = first.quoteAgeMs!;
    expect(age).toBeGreaterThan(0);
    expect(first).toMatchObject({ regime: 'veto', dataVetoSince: 1_000 });
    expect(first.vetoReason).toBe(`stale quote: ${age} ms > 0 ms`);
    expect(strict.sample(null, 2_000).find((m) => m.symbol === symbol)!.dataVetoSince).toBe(1_000);
    // A halt vetoes too, but it is no data veto: the since stays the data's.
    const halted = strict.sample('trading halted globally', 3_000).find((m) => m.symbol === symbol)!;
    expect(halted).toMatchObject({ vetoReason: 'trading halted globally', dataVetoSince: 1_000 });
    strict.stop();

    const lenient = new MarketWatch(replay, age + 1_000);
    lenient.start();
    expect(lenient.sample(null, 4_000).find((m) => m.symbol === symbol)).toMatchObject({
      regime: 'attack',
      vetoReason: null,
      dataVetoSince: null,
    });
    expect(lenient.sample('trading halted globally', 5_000).find((m) => m.symbol === symbol)).toMatchObject({
      regime: 'veto',
      dataVetoSince: null,
    });
    lenient.stop();
  });
});
