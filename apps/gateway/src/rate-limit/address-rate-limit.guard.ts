import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { isPublicRoute, refusal, remoteAddress } from './rate-limit.http.js';
import { RequestRateLimiter } from './request-rate-limiter.js';

/**
 * Global guard registered BEFORE AuthGuard: limits requests without a valid token per remote IP
 * (RATE_LIMIT_UNAUTHENTICATED). Only refused requests (401) are counted, after the answer, so that
 * clients with valid tokens behind one address never spend each other's budget; once an address has
 * used its budget every request from it is answered 429 without its token being checked, until the
 * window passes (the token check is the work a flood of bad tokens makes the gateway do).
 */
@Injectable()
export class AddressRateLimitGuard implements CanActivate {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(RequestRateLimiter) private readonly limiter: RequestRateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http' || isPublicRoute(this.reflector, context)) {
      return true;
    }
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const address = remoteAddress(req);
    const decision = await this.limiter.checkAddress(address);
    if (decision.kind === 'limited') {
      throw refusal(res, decision);
    }
    res.once('finish', () => {
      if (res.statusCode === 401) {
        void this.limiter.chargeAddress(address);
      }
    });
    return true;
  }
}
