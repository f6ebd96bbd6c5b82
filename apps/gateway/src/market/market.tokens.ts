/** Injection tokens for the broker side: the ExecutionClient port and the MarketDataFeed. */
export const EXECUTION_CLIENT = Symbol('EXECUTION_CLIENT');
export const MARKET_DATA = Symbol('MARKET_DATA');
export const CLOCK = Symbol('CLOCK');
export const PAPER_REPLAY = Symbol('PAPER_REPLAY');
