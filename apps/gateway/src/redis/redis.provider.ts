import { Redis } from 'ioredis';

/**
 * A Redis connection that never makes the gateway fail: commands fail fast while Redis is down
 * (offline queue off), and the client keeps reconnecting. Redis carries fan-out only; PostgreSQL
 * stays the record, so losing Redis loses no order and no event (clients resume from PostgreSQL).
 */
export function createRedis(url: string, name: string, onError: (error: Error) => void = () => undefined): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  // Without a listener ioredis prints every failed reconnect as an unhandled error with a stack trace.
  redis.on('error', onError);
  return redis;
}

export const REDIS = Symbol('REDIS');
export const REDIS_SUBSCRIBER = Symbol('REDIS_SUBSCRIBER');

/**
 * A Redis connection for BullMQ's workers and queue events (jobs/): their blocking commands wait across
 * a Redis outage instead of failing after a retry (`maxRetriesPerRequest: null`, as BullMQ requires of
 * a blocking connection, and the offline queue on), and the client keeps reconnecting. Producers use the
 * gateway's fail-fast connection (createRedis), so an HTTP request never waits for Redis.
 */
export function createBlockingRedis(
  url: string,
  name: string,
  onError: (error: Error) => void = () => undefined,
): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    lazyConnect: true,
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  redis.on('error', onError);
  return redis;
}
