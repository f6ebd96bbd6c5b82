import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('broker configuration (BROKERS, BROKER_<NAME>_*)', () => {
  it('defaults to the paper broker on the in-process paper venue, or on PAPER_VENUE_URL', () => {
    expect(loadConfig({}).brokers).toEqual({ paper: { adapter: 'paper' } });
    expect(loadConfig({ PAPER_VENUE_URL: 'http://127.0.0.1:4010' }).brokers).toEqual({
      paper: { adapter: 'paper-http', url: 'http://127.0.0.1:4010' },
    });
  });

  it('serves a second broker from a paper-venue process, in BROKERS order', () => {
    const config = loadConfig({
      BROKERS: 'alpaca, paper',
      BROKER_ALPACA_ADAPTER: 'paper-http',
      BROKER_ALPACA_URL: 'http://127.0.0.1:4020',
    });
    expect(Object.keys(config.brokers)).toEqual(['alpaca', 'paper']);
    expect(config.brokers.alpaca).toEqual({ adapter: 'paper-http', url: 'http://127.0.0.1:4020' });
    expect(config.brokers.paper).toEqual({ adapter: 'paper' });
  });

  it('serves alpaca with its own adapter: paper and live hosts, each stream at its /stream unless set', () => {
    expect(loadConfig({ BROKERS: 'alpaca', BROKER_ALPACA_ADAPTER: 'alpaca' }).brokers.alpaca).toEqual({
      adapter: 'alpaca',
      paper: { url: 'https://paper-api.alpaca.markets', streamUrl: 'wss://paper-api.alpaca.markets/stream' },
      live: { url: 'https://api.alpaca.markets', streamUrl: 'wss://api.alpaca.markets/stream' },
      streamStallMs: 30_000,
    });
    const fake = loadConfig({
      BROKERS: 'alpaca',
      BROKER_ALPACA_ADAPTER: 'alpaca',
      BROKER_ALPACA_URL: 'http://127.0.0.1:4030/',
      BROKER_ALPACA_LIVE_URL: 'http://127.0.0.1:4031',
      BROKER_ALPACA_LIVE_STREAM_URL: 'ws://127.0.0.1:4032/stream',
      BROKER_ALPACA_STREAM_STALL_MS: '2000',
    });
    expect(fake.brokers.alpaca).toEqual({
      adapter: 'alpaca',
      paper: { url: 'http://127.0.0.1:4030', streamUrl: 'ws://127.0.0.1:4030/stream' },
      live: { url: 'http://127.0.0.1:4031', streamUrl: 'ws://127.0.0.1:4032/stream' },
      streamStallMs: 2_000,
    });
    expect(() =>
      loadConfig({ BROKERS: 'alpaca', BROKER_ALPACA_ADAPTER: 'alpaca', BROKER_ALPACA_STREAM_STALL_MS: '100' }),
    ).toThrow(/BROKER_ALPACA_STREAM_STALL_MS/);
  });

  it('serves schwab with its own adapter: the Trader API base, the streamer from userPreference unless set, the stall time', () => {
    expect(loadConfig({ BROKERS: 'schwab', BROKER_SCHWAB_ADAPTER: 'schwab' }).brokers.schwab).toEqual({
      adapter: 'schwab',
      url: 'https://api.schwabapi.com/trader/v1',
      streamerUrl: null,
      streamStallMs: 30_000,
      orderRatePerMinute: 120,
    });
    const fake = loadConfig({
      BROKERS: 'schwab',
      BROKER_SCHWAB_ADAPTER: 'schwab',
      BROKER_SCHWAB_URL: 'http://127.0.0.1:4040/trader/v1/',
      BROKER_SCHWAB_STREAMER_URL: 'ws://127.0.0.1:4040/ws',
      BROKER_SCHWAB_STREAM_STALL_MS: '1500',
      BROKER_SCHWAB_ORDER_RATE_PER_MINUTE: '0',
    });
    expect(fake.brokers.schwab).toEqual({
      adapter: 'schwab',
      url: 'http://127.0.0.1:4040/trader/v1',
      streamerUrl: 'ws://127.0.0.1:4040/ws',
      streamStallMs: 1500,
      orderRatePerMinute: null,
    });
    expect(() =>
      loadConfig({ BROKERS: 'schwab', BROKER_SCHWAB_ADAPTER: 'schwab', BROKER_SCHWAB_STREAM_STALL_MS: '10' }),
    ).toThrow(/BROKER_SCHWAB_STREAM_STALL_MS/);
  });

  it('refuses a broker without an adapter, an unknown adapter, a missing URL and the in-process venue for another broker, naming each', () => {
    const refusal = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refusal({ BROKERS: 'paper,alpaca' })).toMatch(/BROKER_ALPACA_ADAPTER: required/);
    expect(refusal({ BROKERS: 'schwab', BROKER_SCHWAB_ADAPTER: 'fix' })).toMatch(/unknown adapter fix/);
    expect(refusal({ BROKERS: 'alpaca', BROKER_ALPACA_ADAPTER: 'paper-http' })).toMatch(/BROKER_ALPACA_URL/);
    expect(refusal({ BROKERS: 'alpaca', BROKER_ALPACA_ADAPTER: 'paper' })).toMatch(/paper broker only/);
    expect(refusal({ BROKERS: 'Alpaca!' })).toMatch(/BROKERS/);
    expect(refusal({ BROKERS: 'alpaca', BROKER_ALPACA_ADAPTER: 'alpaca', BROKER_ALPACA_URL: 'nope' })).toMatch(
      /BROKER_ALPACA_URL/,
    );
    expect(refusal({ BROKERS: 'a,b' })).toMatch(/BROKER_A_ADAPTER.*BROKER_B_ADAPTER/);
  });
});
