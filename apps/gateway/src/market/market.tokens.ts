/**
 * Injection tokens for the broker side: the broker registry (every account's ExecutionClient; see
 * AccountBrokers), the MarketDataFeed, the clock and the paper replay.
 */
export const BROKER_REGISTRY = Symbol('BROKER_REGISTRY');
export const MARKET_DATA = Symbol('MARKET_DATA');
export const CLOCK = Symbol('CLOCK');
export const PAPER_REPLAY = Symbol('PAPER_REPLAY');
