export * from './schwab-adapter.js';
export * from './schwab-client.js';
export * from './schwab-status.js';
export * from './schwab-symbol.js';
export * from './schwab-market-data.js';
