import { fileURLToPath } from 'node:url';
import { Decimal } from '@gateway/oms';
import { describe, expect, it } from 'vitest';
import type { SubmitResult } from '../execution-client.js';
import { resolveMarketDataDir } from '../paper/market-data-dir.js';
import { loadMarketData } from '../paper/market-data-loader.js';
import { defaultMarketDataSets } from '../paper/market-data-sets.js';
import { MarketReplay } from '../paper/market-replay.js';
import type { VenueRequest } from '../paper/venue-models.js';
import { ParkingScheduling } from './parking-scheduling.js';
import { submitOrders } from './submit-orders.js';
import { TestPaperVenue } from './test-paper-venue.js';

const dataDir = resolveMarketDataDir(fileURLToPath(new URL('../../../../', import.meta.url)));
const data = loadMarketData(dataDir, defaultMarketDataSets());
const order = submitOrders('p');

/** Counts begin()/end() calls. */
class Counter {
  busy = 0;
  begun = 0;
  begin(): void {
    this.busy += 1;
    this.begun += 1;
  }
  end(): void {
    this.busy -= 1;
  }
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the paper venue built with injected scheduling, arrival hook and activity tracker', () => {
  it('parks the next request until released, counts timers and calls, and tells of every arrival', async () => {
    const replay = new MarketReplay({ data, paused: true, startTime: '09:30:05' });
    const timers = new Counter();
    const calls = new Counter();
    const scheduling = new ParkingScheduling(timers);
    const arrived: VenueRequest['kind'][] = [];
    const venue = new TestPaperVenue(replay, {
      ackLatencyMs: 0,
      scheduling,
      activity: calls,
      onArrive: (request, exchange) => {
        arrived.push(request.kind);
        expect(exchange.orderRecord(request.command.clientOrderId)).toBeNull(); // not acted on yet
      },
    });

    scheduling.parkNext();
    let result: SubmitResult | null = null;
    const parked = venue.submitOrder(order({ clientOrderId: 'held' })).then((r) => (result = r));
    expect(arrived).toEqual(['submit']);
    expect(scheduling.parkedCount()).toBe(1);
    expect(timers.begun).toBe(0); // a parked request is not activity
    expect(calls.busy).toBe(1);
    await wait(20);
    expect(result).toBeNull();
    expect(venue.orderRecord('held')).toBeNull();

    expect(scheduling.releaseParked()).toBe(1);
    await parked;
    expect(result).toMatchObject({ kind: 'accepted' });
    expect(calls.busy).toBe(0);

    // The next request is not parked: it runs on a counted timer.
    expect(await venue.submitOrder(order({ quantity: new Decimal(1) }))).toMatchObject({ kind: 'accepted' });
    expect(timers.begun).toBe(1);
    expect(timers.busy).toBe(0);
    expect(calls.begun).toBe(2);
    expect(arrived).toEqual(['submit', 'submit']);
    venue.close();
  });
});
