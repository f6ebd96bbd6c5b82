import type { MarketReplay, ReplayState } from '@gateway/brokers';
import type { WebSocket } from 'ws';
import { seededRandom } from './fake-broker-http.js';

/*
 * What the fake brokers' test routes (Alpaca's and Schwab's `/test/...`, the tests' control of the fake)
 * share: the timing fields of a fault, the stream switches, the replay routes. Each broker's own routes,
 * fault kinds and match fields stay in its own server, as do its answers (`send`).
 */

/**
 * What the fakes' `POST /test/faults` takes alike for every fault kind, beside the kind and each broker's own
 * match fields. JSON fields: `remaining` (how many times the fault acts before it is gone; left out: until
 * `DELETE /test/faults`), `delay_ms` (the wait of the kinds that wait, ms), `max_delay_ms` and `seed` (with
 * `random_delay`, the wait is a whole number of ms in [delay_ms, max_delay_ms] drawn from a source seeded with
 * `seed`; without a seed, Math.random).
 */
export interface FaultTiming {
  remaining: number | null;
  readonly delayMs: number;
  /** `random_delay`: the upper end of the delay, ms (never below `delayMs`), and the rule's random source. */
  readonly maxDelayMs: number;
  readonly random: () => number;
}

/** The FaultTiming of a `POST /test/faults` body; a field that is not a number counts as left out. */
export function faultTiming(body: Record<string, unknown>): FaultTiming {
  return {
    remaining: typeof body['remaining'] === 'number' ? body['remaining'] : null,
    delayMs: typeof body['delay_ms'] === 'number' ? body['delay_ms'] : 0,
    maxDelayMs: Math.max(
      typeof body['max_delay_ms'] === 'number' ? body['max_delay_ms'] : 0,
      typeof body['delay_ms'] === 'number' ? body['delay_ms'] : 0,
    ),
    random: seededRandom(typeof body['seed'] === 'number' ? body['seed'] : null),
  };
}

/**
 * The switches of a fake's stream, set by its `POST /test/stream`: `down` refuses new stream connections,
 * `stalled` keeps the sockets open but sends nothing on them and answers no Ping.
 */
export class StreamSwitches {
  down = false;
  stalled = false;

  /**
   * Applies a `POST /test/stream` body `{stall?: boolean, down?: boolean}` (a field left out, or not a
   * boolean, keeps its switch); `down: true` also drops every socket in `sockets` at once. Returns the
   * route's answer: both switches and the number of sockets open (the dropped ones still count).
   */
  set(
    body: Record<string, unknown>,
    sockets: ReadonlySet<WebSocket>,
  ): { down: boolean; stalled: boolean; connections: number } {
    if (typeof body['stall'] === 'boolean') {
      this.stalled = body['stall'];
    }
    if (typeof body['down'] === 'boolean') {
      this.down = body['down'];
      if (this.down) {
        for (const ws of sockets) {
          ws.terminate();
        }
      }
    }
    return { down: this.down, stalled: this.stalled, connections: sockets.size };
  }
}

/**
 * The fakes' replay routes: `GET /test/replay` and `POST /test/replay/step {to}` (`to`: a time of day or ms
 * after midnight ET) answer the replay's state (after the step). Undefined for any other route, or when the
 * fake has no replay. Throws RangeError (MarketReplay.stepTo's) for a time outside the window.
 */
export function replayTestRoute(
  method: string,
  path: string,
  body: Record<string, unknown>,
  replay: MarketReplay | undefined,
): ReplayState | undefined {
  if (path === '/test/replay' && method === 'GET' && replay) {
    return replay.state();
  }
  if (path === '/test/replay/step' && method === 'POST' && replay) {
    replay.stepTo(body['to'] as string | number);
    return replay.state();
  }
  return undefined;
}
