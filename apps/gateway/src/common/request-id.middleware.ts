import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

type WithRequestId = IncomingMessage & { requestId?: string };

/**
 * The request's id: a well-formed `X-Request-Id` it came with, or one made up now; set once on the
 * request and the response header, so the answer, the problem body and the log lines share it.
 */
export function requestIdOf(req: IncomingMessage, res: ServerResponse): string {
  const request = req as WithRequestId;
  if (request.requestId === undefined) {
    const given = req.headers['x-request-id'];
    request.requestId = typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', request.requestId);
  }
  return request.requestId;
}

/** Echoes a well-formed `X-Request-Id` or makes one; every response carries it (API.md). */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  requestIdOf(req, res);
  next();
}
