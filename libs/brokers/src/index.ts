export * from './execution-client.js';
export * from './market-data.js';
export * from './reports.js';
export * from './paper/index.js';
export * from './broker-registry.js';
export * from './alpaca/index.js';
export * from './schwab/index.js';
