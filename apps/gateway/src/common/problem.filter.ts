import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { ApiError } from './api-error.js';
import { LOGGER } from './logger.js';
import { zodFieldErrors } from './zod-body.pipe.js';

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  errors?: readonly { path: string; message: string }[];
  requestId: string;
  [extra: string]: unknown;
}

/** Errors thrown by Express middleware (body-parser) carry these. */
interface HttpLikeError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
}

/**
 * Turns every error into RFC 9457 problem+json (API.md). Expected errors keep their status and code;
 * anything else is a 500 `internal.error` whose details stay in the log, never in the response.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    this.send(http.getRequest<Request>(), http.getResponse<Response>(), exception);
  }

  /** Answers `exception` as problem+json; also used by Express middleware outside Nest's pipeline. */
  send(req: Request, res: Response, exception: unknown): void {
    const requestId = (res.getHeader('X-Request-Id') as string | undefined) ?? '';
    const problem = this.toProblem(exception, requestId);
    if (problem.status >= 500) {
      this.logger.error({ err: exception, requestId, method: req.method, path: req.path }, 'request failed');
    }
    // A default only: the rate limiter sets the real wait (rate-limit/rate-limit.http.ts).
    if ((problem.status === 429 || problem.status === 503) && !res.hasHeader('Retry-After')) {
      res.setHeader('Retry-After', '1');
    }
    res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  }

  private toProblem(exception: unknown, requestId: string): ProblemBody {
    const base = (status: number, code: string, title: string, detail?: string): ProblemBody => ({
      type: `https://gateway.dev/problems/${code}`,
      title,
      status,
      ...(detail === undefined ? {} : { detail }),
      code,
      requestId,
    });
    if (exception instanceof ApiError) {
      // Extension members first: they can never overwrite the standard ones (status, code...).
      return {
        ...exception.extra,
        ...base(exception.status, exception.code, exception.title, exception.detail),
        ...(exception.errors ? { errors: exception.errors } : {}),
      };
    }
    if (exception instanceof ZodError) {
      return { ...base(422, 'validation.failed', 'Validation failed'), errors: zodFieldErrors(exception) };
    }
    const e = exception as HttpLikeError;
    if (e?.type === 'entity.parse.failed') {
      return base(400, 'validation.malformed_json', 'Malformed JSON', 'The request body is not valid JSON.');
    }
    if (e?.type === 'entity.too.large') {
      return base(413, 'validation.body_too_large', 'Request body too large');
    }
    if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
      return base(415, 'validation.unsupported_media_type', 'Unsupported media type');
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === 404) {
        return base(404, 'route.not_found', 'Not found', 'No such route.');
      }
      if (status < 500) {
        return base(status, 'request.invalid', exception.message);
      }
    }
    const status = e?.status ?? e?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500 && e.expose) {
      return base(status, 'request.invalid', 'Bad request');
    }
    return base(500, 'internal.error', 'Internal error', 'An unexpected error occurred; it has been logged.');
  }
}
