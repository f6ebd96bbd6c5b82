import { toDecimalString } from '@gateway/oms';
import type { MarketDataFeed, Quote } from '@gateway/brokers';

/** The public quote (API.md `GET /v1/quotes/{symbol}` and the stream's `quote` frames). */
export interface QuoteDto {
  symbol: string;
  bid: string;
  ask: string;
  bidSize: string;
  askSize: string;
  last: string | null;
  /** Recorded market time of the quote (for the paper venue: the replayed day). */
  ts: string;
  /** Age on the feed's own clock (replay time for the paper venue), in ms. */
  ageMs: number;
  source: string;
}

export function toQuoteDto(quote: Quote, feed: MarketDataFeed): QuoteDto {
  return {
    symbol: quote.symbol,
    bid: toDecimalString(quote.bid),
    ask: toDecimalString(quote.ask),
    bidSize: toDecimalString(quote.bidSize),
    askSize: toDecimalString(quote.askSize),
    last: quote.last ? toDecimalString(quote.last) : null,
    ts: new Date(quote.ts).toISOString(),
    ageMs: feed.quoteAgeMs(quote),
    source: quote.source,
  };
}
