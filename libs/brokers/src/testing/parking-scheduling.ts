import type { ActivityTracker, SchedulingModel, VenueRequest } from '../paper/venue-models.js';

/**
 * A SchedulingModel for tests that decide when the venue acts: timers run on setTimeout, counted by
 * `activity` (begin() when scheduled, end() once the action ran), except the handling of a parked request.
 * After parkNext(), the next request that reaches the venue waits there (not counted as activity) until
 * releaseParked(): an acknowledgement that comes whenever the test says.
 */
export class ParkingScheduling implements SchedulingModel {
  private parkNextRequest = false;
  private readonly parked: (() => void)[] = [];

  constructor(private readonly activity?: ActivityTracker) {}

  /** The next request that reaches the venue waits there until releaseParked() (`on` false: not any more). */
  parkNext(on = true): void {
    this.parkNextRequest = on;
  }

  /** How many requests wait at the venue. */
  parkedCount(): number {
    return this.parked.length;
  }

  /** The venue acts on the parked requests now, in arrival order. Returns how many. */
  releaseParked(): number {
    const actions = this.parked.splice(0);
    actions.forEach((action) => action());
    return actions.length;
  }

  schedule(delayMs: number, action: () => void, request: VenueRequest | null): void {
    if (request !== null && this.parkNextRequest) {
      this.parkNextRequest = false;
      this.parked.push(action);
      return;
    }
    const activity = this.activity;
    activity?.begin();
    setTimeout(() => {
      try {
        action();
      } finally {
        activity?.end();
      }
    }, delayMs);
  }
}
