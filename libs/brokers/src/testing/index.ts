/*
 * `@gateway/brokers/testing`: the test side of the brokers library, kept out of the production barrel
 * (`@gateway/brokers`): the paper venue with test hooks, the rule-driven fault model and the FaultyVenue,
 * and helpers for broker specs.
 */
export * from './faulty-venue.js';
export * from './parking-scheduling.js';
export * from './submit-orders.js';
export * from './test-paper-venue.js';
