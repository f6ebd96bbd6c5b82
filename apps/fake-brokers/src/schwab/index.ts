export * from './fake-schwab-server.js';
