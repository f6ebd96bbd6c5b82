export * from './alpaca-adapter.js';
export * from './alpaca-client.js';
export * from './alpaca-status.js';
