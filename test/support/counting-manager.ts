import type { EntityManager } from 'typeorm';

/** `manager` with its `query` calls counted (the statements that reach PostgreSQL through it). */
export function countingQueries(manager: EntityManager): { manager: EntityManager; calls: () => number } {
  let calls = 0;
  const counted = new Proxy(manager, {
    get(target, prop, receiver) {
      if (prop === 'query') {
        return (...args: Parameters<EntityManager['query']>) => {
          calls += 1;
          return target.query(...args);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  return { manager: counted, calls: () => calls };
}
