import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable } from '@nestjs/common';
import { Logger as PinoNestLogger, type Params } from 'nestjs-pino';
import type { Logger } from 'pino';
import { requestIdOf } from './request-id.middleware.js';

/** Polled by probes and scrapers many times a minute: their request lines are `debug`, not `info`. */
const PROBE_PATHS: ReadonlySet<string> = new Set(['/health/live', '/health/ready', '/metrics']);

/**
 * The path without its query string: a query may hold what does not belong in a log (a token sent by
 * mistake as `?access_token=`). `originalUrl`, because a mounted middleware sees `url` cut short.
 */
function pathOf(req: IncomingMessage): string {
  const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
  return url.split('?')[0] ?? '';
}

/** pino-http's stand-in error for a 5xx answer that threw nothing (the problem filter logs the real one). */
function isStandIn(error: Error, res: ServerResponse): boolean {
  return error.message === `failed with status code ${res.statusCode}`;
}

/** What a request line says: the same fields the gateway has always logged per request. */
function requestLine(req: IncomingMessage, res: ServerResponse, responseTime: number) {
  return { method: req.method, path: pathOf(req), status: res.statusCode, ms: responseTime };
}

/**
 * `nestjs-pino` options: Nest's own messages and one line per request (`msg` `request`) go through the
 * process logger (common/logger.ts: its redaction, environments and level), every line logged while a
 * request is handled carries its `requestId` (the `X-Request-Id` of request-id.middleware.ts), and health
 * probes and `/metrics` are logged at `debug`. The line names method, path (no query string), status and
 * duration, never headers or bodies; a `req` logged explicitly is cut down the same way (its Authorization
 * and Cookie headers are redacted by the logger too).
 */
export function httpLogging(logger: Logger): Params {
  return {
    pinoHttp: {
      logger,
      genReqId: requestIdOf,
      customAttributeKeys: { reqId: 'requestId' },
      quietReqLogger: true,
      quietResLogger: true,
      customLogLevel: (req) => (PROBE_PATHS.has(pathOf(req)) ? 'debug' : 'info'),
      customSuccessMessage: (_req, res) => (res.writableEnded ? 'request' : 'request aborted'),
      customSuccessObject: (req, res, value: { responseTime: number }) => requestLine(req, res, value.responseTime),
      customErrorMessage: () => 'request',
      customErrorObject: (req, res, error, value: { responseTime: number }) => ({
        ...requestLine(req, res, value.responseTime),
        ...(isStandIn(error, res) ? {} : { err: error }),
      }),
      serializers: {
        req: (req: { id?: unknown; method?: string; url?: string }) => ({
          id: req.id,
          method: req.method,
          path: (req.url ?? '').split('?')[0],
        }),
      },
    },
  };
}

/**
 * Nest's own messages as pino lines. Its `log` level (modules initialised, routes mapped, application
 * started) is logged at `debug`: at `info` the log keeps what the gateway itself says; Nest's warnings and
 * errors stay warnings and errors.
 */
@Injectable()
export class NestLogger extends PinoNestLogger {
  override log(message: unknown, ...optionalParams: unknown[]): void {
    this.debug(message, ...optionalParams);
  }
}
