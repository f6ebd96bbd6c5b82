export * from './fake-alpaca-server.js';
