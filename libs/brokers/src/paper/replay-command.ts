import type { MarketReplay } from './market-replay.js';

/**
 * A command to a market replay, as the replay control routes take it (the gateway's
 * `POST /v1/venues/paper/replay`, the paper-venue process's `POST /v1/test/replay`): pause, speed (replay ms
 * per wall ms, ≥ 0), a time of day to step to (`HH:MM:SS[.mmm]`, America/New_York), resume.
 */
export interface ReplayCommand {
  readonly paused?: boolean;
  readonly speed?: number;
  readonly stepTo?: string;
}

/**
 * Applies `command` to `replay` in the order pause, speed, step, resume, so that one command can pause and
 * step, or step and resume. A step to a time earlier than now goes through the window's end into the next
 * loop. Throws RangeError (MarketReplay's) for a speed below 0 or a time outside the window; the parts before
 * the failing one stay applied.
 */
export function applyReplayCommand(
  replay: Pick<MarketReplay, 'pause' | 'setSpeed' | 'stepTo' | 'resume'>,
  command: ReplayCommand,
): void {
  if (command.paused === true) {
    replay.pause();
  }
  if (command.speed !== undefined) {
    replay.setSpeed(command.speed);
  }
  if (command.stepTo !== undefined) {
    replay.stepTo(command.stepTo);
  }
  if (command.paused === false) {
    replay.resume();
  }
}
