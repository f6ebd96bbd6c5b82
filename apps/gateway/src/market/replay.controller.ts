import { Body, Controller, Get, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { z } from 'zod';
import { type AuthenticatedRequest, RequireRole } from '../auth/auth.guard.js';
import { ApiError } from '../common/api-error.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { replayCommandSchema as command } from './market.schema.js';
import { PAPER_REPLAY } from './market.tokens.js';
import { type PaperReplayControl } from './paper-venue.factory.js';

/**
 * Control of the paper venue's market-data replay (admin only): pause, resume, change speed, step to a
 * recorded time. Tests use it to make fills deterministic. Not part of API.md v1's trading contract.
 * With a shared paper-venue process (PAPER_VENUE_URL) it acts on the venue's replay, at the venue, so
 * every instance sees the change (VenueReplayControl; 503 `venue.unavailable` when the venue does not
 * answer); otherwise on this gateway's own replay.
 */
@Controller('v1/venues/paper/replay')
@RequireRole('admin')
export class ReplayController {
  constructor(@Inject(PAPER_REPLAY) private readonly replay: PaperReplayControl | null) {}

  @Get()
  state(@Req() req: AuthenticatedRequest): Promise<unknown> {
    return this.control(req).state();
  }

  /** Applies pause, speed, step and resume, in that order (a step earlier than now wraps into the next loop). */
  @Post()
  @HttpCode(200)
  async update(
    @Req() req: AuthenticatedRequest,
    @Body(new ZodPipe(command)) body: z.infer<typeof command>,
  ): Promise<unknown> {
    try {
      return await this.control(req).update(body);
    } catch (error) {
      if (error instanceof RangeError) {
        throw new ApiError(422, 'replay.out_of_window', 'Outside the replay window', error.message);
      }
      throw error;
    }
  }

  /** Every account shares the replay: controlling it is a global operation, for an admin granted every account. */
  private control(req: AuthenticatedRequest): PaperReplayControl {
    if (req.principal.accounts !== '*') {
      throw ApiError.forbidden(
        'The paper replay is shared by every account: controlling it needs a grant on every account (*).',
      );
    }
    if (!this.replay) {
      throw new ApiError(404, 'venue.not_found', 'No paper venue', 'This gateway does not run the paper venue.');
    }
    return this.replay;
  }
}
