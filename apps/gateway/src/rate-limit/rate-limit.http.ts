import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { ApiError } from '../common/api-error.js';
import type { RateDecision, RateLimitScope } from './request-rate-limiter.js';

/** The metadata key `@Public()` sets (auth.guard.ts); the guards' spec fails if the two drift apart. */
const PUBLIC_KEY = 'gateway:public';

/** Health, metrics and docs (`@Public()`) are never limited: monitoring must see an overloaded gateway. */
export function isPublicRoute(reflector: Reflector, context: ExecutionContext): boolean {
  return (
    reflector.getAllAndOverride<boolean | undefined>(PUBLIC_KEY, [context.getHandler(), context.getClass()]) === true
  );
}

/** The TCP peer (Express `trust proxy` is off, so X-Forwarded-For is not believed). */
export function remoteAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

const PLACE_ORDER = /^\/v1\/accounts\/[^/]+\/orders\/?$/;
const REPLACE_ORDER = /^\/v1\/accounts\/[^/]+\/orders\/[^/]+\/?$/;

/** Place (POST) and replace (PATCH) make new orders and spend the order budget; cancels do not. */
export function isOrderCommand(req: Request): boolean {
  return (
    (req.method === 'POST' && PLACE_ORDER.test(req.path)) || (req.method === 'PATCH' && REPLACE_ORDER.test(req.path))
  );
}

/** `Retry-After` in whole seconds, rounded up, at least 1 (RFC 9110 §10.2.3). */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}

const DETAIL: Record<RateLimitScope, string> = {
  requests: 'Too many requests from this client.',
  orders: 'Too many orders from this client.',
  unauthenticated: 'Too many requests without a valid access token from this address.',
};

/** Sets `Retry-After` and returns the 429 to throw; the request never reaches its handler. */
export function refusal(res: Response, decision: Extract<RateDecision, { kind: 'limited' }>): ApiError {
  const seconds = retryAfterSeconds(decision.retryAfterMs);
  res.setHeader('Retry-After', String(seconds));
  return ApiError.rateLimited(seconds, DETAIL[decision.scope]);
}
