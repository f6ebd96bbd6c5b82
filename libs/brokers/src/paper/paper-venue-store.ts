import type { PaperOrderRecord } from './paper-order-record.js';

/**
 * Where the paper venue keeps its book, so that working orders survive a restart (the gateway can
 * implement it over its own table). `save` is called after every change of an order with the whole
 * record (an upsert by `brokerOrderId`), one call at a time in the order of the changes; `load` returns
 * the latest saved record of every order.
 */
export interface PaperVenueStore {
  load(): Promise<PaperOrderRecord[]>;
  save(record: PaperOrderRecord): Promise<void>;
}

/** The default store: records in memory (deep copies), in first-saved order. Survives a venue, not a process. */
export class InMemoryPaperVenueStore implements PaperVenueStore {
  private readonly records = new Map<string, PaperOrderRecord>();

  load(): Promise<PaperOrderRecord[]> {
    return Promise.resolve([...this.records.values()].map((r) => structuredClone(r)));
  }

  save(record: PaperOrderRecord): Promise<void> {
    this.records.set(record.brokerOrderId, structuredClone(record));
    return Promise.resolve();
  }
}
