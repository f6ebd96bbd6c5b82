import { DECIMAL_PATTERN, Decimal, toDecimalString } from '@gateway/oms';
import { z } from 'zod';
import type { Quote } from '../market-data.js';

/*
 * The paper venue's market feed on the wire (apps/paper-venue publishes it, VenueMarketFeed mirrors it):
 * JSON, decimals as canonical decimal strings, times as epoch ms or ms after midnight America/New_York.
 * `GET /v1/market/snapshot` answers a VenueMarketSnapshot; the WebSocket `GET /v1/market/stream` sends a
 * `snapshot` frame first (taken when the connection opened), then `quote` and `clock` frames in the order
 * the replay produced them. Both sides validate with these schemas.
 */

const decimalString = z.string().regex(DECIMAL_PATTERN, 'expected a decimal string');

export const wireQuoteSchema = z.object({
  symbol: z.string().min(1),
  bid: decimalString,
  ask: decimalString,
  bidSize: decimalString,
  askSize: decimalString,
  last: decimalString.nullable(),
  /** Epoch ms of the recorded market time of the quote. */
  ts: z.number().int(),
  source: z.string(),
});
export type WireQuote = z.infer<typeof wireQuoteSchema>;

/** The replay clock (MarketReplay.state()). */
export const wireClockSchema = z.object({
  timeOfDay: z.string(),
  timeOfDayMs: z.number().int().min(0),
  paused: z.boolean(),
  speed: z.number().min(0),
  loops: z.number().int().min(0),
  running: z.boolean(),
});
export type WireClock = z.infer<typeof wireClockSchema>;

/** BookFigures (lobster-books.ts) as they are. */
export const wireBookSchema = z.object({
  symbol: z.string(),
  date: z.string(),
  time: z.string(),
  bestBid: z.string(),
  bestAsk: z.string(),
  wobi: z.number(),
  imbalancePercent: z.number(),
  levels: z.array(z.number()).readonly(),
});

/**
 * One published quote with the replay loop it was published in (the replay's `loops` then): its age is
 * `(loops now − loop) × window length + (time of day now − its own recorded time of day)`.
 */
export const wireQuoteFrameSchema = z.object({
  type: z.literal('quote'),
  quote: wireQuoteSchema,
  loop: z.number().int().min(0),
  /**
   * true for a quote update (what MarketDataFeed.onQuote listeners hear); false when only `last` changed
   * by a trade (the replay updates the current quote silently).
   */
  notify: z.boolean(),
});

export const wireClockFrameSchema = z.object({
  type: z.literal('clock'),
  clock: wireClockSchema,
  /** The LOBSTER depth book in force at that time, or null (no sample). */
  book: wireBookSchema.nullable(),
});

export const venueMarketSnapshotSchema = z.object({
  /** Names the venue process: another id after a reconnect means the venue was restarted. */
  feedId: z.string().min(1),
  /** The replay window, ms after midnight ET; `endMs` exclusive. */
  window: z.object({ startMs: z.number().int().min(0), endMs: z.number().int().min(1) }),
  clock: wireClockSchema,
  /** Every symbol the replay can quote, sorted. */
  symbols: z.array(z.string()),
  /** Each symbol's recorded trade date, `YYYY-MM-DD` (marketNow, quote ages). */
  dates: z.record(z.string(), z.string()),
  /** The current quote of every symbol that has one, all of the current loop. */
  quotes: z.array(wireQuoteSchema),
  book: wireBookSchema.nullable(),
});
export type VenueMarketSnapshot = z.infer<typeof venueMarketSnapshotSchema>;

export const venueMarketFrameSchema = z.discriminatedUnion('type', [
  venueMarketSnapshotSchema.extend({ type: z.literal('snapshot') }),
  wireQuoteFrameSchema,
  wireClockFrameSchema,
]);
export type VenueMarketFrame = z.infer<typeof venueMarketFrameSchema>;

export function toWireQuote(quote: Quote): WireQuote {
  return {
    symbol: quote.symbol,
    bid: toDecimalString(quote.bid),
    ask: toDecimalString(quote.ask),
    bidSize: toDecimalString(quote.bidSize),
    askSize: toDecimalString(quote.askSize),
    last: quote.last === null ? null : toDecimalString(quote.last),
    ts: quote.ts,
    source: quote.source,
  };
}

export function fromWireQuote(wire: WireQuote): Quote {
  return {
    symbol: wire.symbol,
    bid: new Decimal(wire.bid),
    ask: new Decimal(wire.ask),
    bidSize: new Decimal(wire.bidSize),
    askSize: new Decimal(wire.askSize),
    last: wire.last === null ? null : new Decimal(wire.last),
    ts: wire.ts,
    source: wire.source,
  };
}
