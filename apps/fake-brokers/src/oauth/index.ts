export * from './fake-oauth-server.js';
