// The quote and the market data port belong to the domain (libs/oms) so that libs/risk depends on no
// adapter; re-exported here for the broker adapters' code.
export type { MarketDataFeed, Quote, QuoteListener } from '@gateway/oms';
