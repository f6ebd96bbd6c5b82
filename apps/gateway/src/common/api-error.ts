/** One field-level problem in a request (RFC 9457 extension member `errors`). */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/**
 * An expected failure answered as RFC 9457 problem+json with a stable, namespaced `code` (API.md).
 * Thrown by controllers and services; turned into a response by ProblemFilter.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
    readonly errors?: readonly FieldError[],
  ) {
    super(`${code}: ${detail ?? title}`);
    this.name = 'ApiError';
  }

  static validation(errors: readonly FieldError[], detail = 'The request is not valid.'): ApiError {
    return new ApiError(422, 'validation.failed', 'Validation failed', detail, {}, errors);
  }

  static unauthenticated(detail = 'A valid bearer access token is required.'): ApiError {
    return new ApiError(401, 'auth.unauthenticated', 'Unauthenticated', detail);
  }

  static forbidden(detail = 'Your role does not allow this.'): ApiError {
    return new ApiError(403, 'auth.forbidden', 'Forbidden', detail);
  }

  static accountNotFound(accountId: string): ApiError {
    // Same answer for "does not exist" and "not yours": no existence leak.
    return new ApiError(404, 'account.not_found', 'Account not found', `No account ${accountId} is visible to you.`);
  }

  static orderNotFound(orderId: string): ApiError {
    return new ApiError(404, 'order.not_found', 'Order not found', `No order ${orderId} in this account.`);
  }

  static unavailable(detail: string): ApiError {
    return new ApiError(503, 'service.unavailable', 'Service unavailable', detail);
  }

  /** An abuse limit was reached (rate-limit/): 429; the caller sets `Retry-After` to `retryAfterSeconds`. */
  static rateLimited(retryAfterSeconds: number, detail = 'Too many requests.'): ApiError {
    const text = `${detail} Retry after ${retryAfterSeconds} s.`;
    return new ApiError(429, 'rate_limit.exceeded', 'Too many requests', text, { retryAfterSeconds });
  }
}
