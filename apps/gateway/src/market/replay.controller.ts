import { Body, Controller, Get, Inject, Post } from '@nestjs/common';
import { z } from 'zod';
import { RequireRole } from '../auth/auth.guard.js';
import { ApiError } from '../common/api-error.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { PAPER_REPLAY } from './market.tokens.js';
import { type PaperReplayControl } from './paper-venue.factory.js';

const command = z.strictObject({
  paused: z.boolean().optional(),
  speed: z.number().min(0).max(10_000).optional(),
  /** Process every recorded event up to and including this time of day (America/New_York). */
  stepTo: z
    .string()
    .regex(/^\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?$/, 'expected HH:MM:SS[.mmm]')
    .optional(),
});

/**
 * Control of the paper venue's market-data replay (admin only): pause, resume, change speed, step to a
 * recorded time. Tests use it to make fills deterministic. Not part of API.md v1's trading contract.
 */
@Controller('v1/venues/paper/replay')
@RequireRole('admin')
export class ReplayController {
  constructor(@Inject(PAPER_REPLAY) private readonly replay: PaperReplayControl | null) {}

  @Get()
  state(): unknown {
    return this.control().state();
  }

  @Post()
  update(@Body(new ZodPipe(command)) body: z.infer<typeof command>): unknown {
    const replay = this.control();
    if (body.paused === true) {
      replay.pause();
    }
    if (body.speed !== undefined) {
      replay.setSpeed(body.speed);
    }
    if (body.stepTo !== undefined) {
      try {
        // A time earlier than now steps through the window's end into the next loop.
        replay.stepTo(body.stepTo);
      } catch (error) {
        if (error instanceof RangeError) {
          throw new ApiError(422, 'replay.out_of_window', 'Outside the replay window', error.message);
        }
        throw error;
      }
    }
    if (body.paused === false) {
      replay.resume();
    }
    return replay.state();
  }

  private control(): PaperReplayControl {
    if (!this.replay) {
      throw new ApiError(404, 'venue.not_found', 'No paper venue', 'This gateway does not run the paper venue.');
    }
    return this.replay;
  }
}
