import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import type { AuthenticatedRequest } from '../auth/auth.guard.js';
import type { Principal } from '../auth/principal.js';
import { isOrderCommand, isPublicRoute, refusal } from './rate-limit.http.js';
import { RequestRateLimiter } from './request-rate-limiter.js';

/**
 * Global guard registered AFTER AuthGuard: counts every request of the authenticated subject
 * (RATE_LIMIT_REQUESTS), and order placements and replacements again in their own budget
 * (RATE_LIMIT_ORDERS), in Redis across instances. Over a budget: 429 `rate_limit.exceeded` with
 * `Retry-After`, before any pipe or handler runs, so a refused request changes nothing.
 */
@Injectable()
export class ClientRateLimitGuard implements CanActivate {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(RequestRateLimiter) private readonly limiter: RequestRateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http' || isPublicRoute(this.reflector, context)) {
      return true;
    }
    const http = context.switchToHttp();
    const req = http.getRequest<AuthenticatedRequest>();
    const principal = req.principal as Principal | undefined;
    if (!principal) {
      // AuthGuard runs first and lets no request through without one; nothing to count by.
      return true;
    }
    const decision = await this.limiter.consumeClient(principal.subject, isOrderCommand(req));
    if (decision.kind === 'limited') {
      throw refusal(http.getResponse<Response>(), decision);
    }
    return true;
  }
}
