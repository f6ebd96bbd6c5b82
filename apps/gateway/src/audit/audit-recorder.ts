import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Clock } from '@gateway/oms';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { handleAll, IterableBackoff, retry } from 'cockatiel';
import { decodeJwt } from 'jose';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import type { AuthenticatedRequest } from '../auth/auth.guard.js';
import { bearerToken } from '../auth/token-verifier.js';
import { LOGGER } from '../common/logger.js';
import { GatewayMetrics } from '../health/metrics.js';
import { CLOCK } from '../market/market.tokens.js';
import { type AuditKind, chainTime } from './audit-chain.js';
import { AUDIT_CONTEXT, type AuditableRequest } from './audit-context.guard.js';
import { type AuditDraft, AuditLogRepository } from './audit-log.repository.js';
import { REQUEST_AUDIT, type RequestAudit } from './request-audit.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Answers that are security events on any route, read or write. */
const SECURITY_STATUSES = new Set([401, 403, 429]);
/**
 * Body fields copied into `target` (they name what a request acts on; nothing else of a body is kept,
 * so no secret in a body can reach the log): the kill switch's `scope` and `accountId`, an order's
 * `clientOrderId`. Path parameters are always copied.
 */
const TARGET_BODY_FIELDS = ['scope', 'accountId', 'clientOrderId'] as const;
const BATCH_SIZE = 100;
const MAX_PROBLEM_BYTES = 16 * 1024;

/** A string as it can be stored and hashed alike: well-formed UTF-8, no control characters, bounded. */
function clean(value: string, max = 200): string {
  const wellFormed = Buffer.from(value, 'utf8').toString('utf8');
  // eslint-disable-next-line no-control-regex -- control characters (NUL above all) are what it removes
  return wellFormed.replace(/[\u0000-\u001f\u007f]/g, '\uFFFD').slice(0, max);
}

function cleanOrNull(value: unknown, max?: number): string | null {
  return typeof value === 'string' && value !== '' ? clean(value, max) : null;
}

/** The `code` of a problem+json answer, from the bytes being sent. */
function problemCode(res: ServerResponse, chunk: unknown): string | null {
  const type = res.getHeader('content-type');
  if (typeof type !== 'string' || !type.includes('problem+json')) {
    return null;
  }
  const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : null;
  if (text === null || text.length > MAX_PROBLEM_BYTES) {
    return null;
  }
  try {
    const code = (JSON.parse(text) as { code?: unknown }).code;
    return cleanOrNull(code, 100);
  } catch {
    return null;
  }
}

/** The client id (`azp`, else `client_id`) of a token that the AuthGuard has verified for this request. */
function clientIdOf(authorization: string | undefined): string | null {
  const token = bearerToken(authorization);
  if (!token) {
    return null;
  }
  try {
    const claims = decodeJwt(token);
    return cleanOrNull(claims.azp ?? claims['client_id']);
  } catch {
    return null;
  }
}

function bodyTargets(body: unknown): Record<string, string> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return {};
  }
  const out: Record<string, string> = {};
  for (const field of TARGET_BODY_FIELDS) {
    const value = (body as Record<string, unknown>)[field];
    if (typeof value === 'string' && value !== '') {
      out[field] = clean(value, 100);
    }
  }
  return out;
}

/** What a stream (WebSocket) security event says; the HTTP fields are filled in by the recorder. */
export interface StreamSecurityEvent {
  readonly action: string;
  readonly code: string;
  readonly subject?: string | null;
  readonly accountId?: string | null;
  /** The HTTP status it stands for: 401 (default) for a refused token, 403 for a refused subscription. */
  readonly status?: number;
}

/**
 * Writes the audit log (README, "Audit log"): one entry for every state-changing request under /v1 (any method but
 * GET/HEAD/OPTIONS, and a GET marked `@AuditedChange()` such as the OAuth callback; whatever its outcome) and every
 * security event (401, 403, 429 on any route).
 *
 * It listens on the HTTP server's `request` event, ahead of Express, so it sees every answer, including
 * those made by middleware before routing (body limits, rate limits). The entry is written when the
 * response has gone (`close`), so the outcome is known. The write happens after the answer: a failed
 * write is retried, then logged as an alert with the entry itself, and never becomes the client's
 * error. A crash between the answer and the write loses that entry (the order's own events remain the
 * record of the order); the trade-off keeps the audit log off the order path's latency and failure modes.
 */
@Injectable()
export class AuditRecorder implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly queue: AuditDraft[] = [];
  private writing: Promise<void> | null = null;
  private readonly writeFailures: Counter;
  /** A failed write is tried again after 100 ms, 500 ms and 2 s, then given up on (logged as an alert). */
  private readonly writeRetry = retry(handleAll, { maxAttempts: 3, backoff: new IterableBackoff([100, 500, 2_000]) });

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly repository: AuditLogRepository,
    metrics: GatewayMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.writeFailures = new Counter({
      name: 'gateway_audit_write_failures_total',
      help: 'Audit log entries that could not be written after retries (alert: they are only in the log)',
      registers: [metrics.registry],
    });
  }

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => this.track(req, res));
  }

  /** Waits for every queued entry to be written (or given up on). */
  async onApplicationShutdown(): Promise<void> {
    await this.flush();
  }

  async flush(): Promise<void> {
    while (this.writing) {
      await this.writing;
    }
  }

  /** Records a security event of the WebSocket stream (an authentication failure). */
  streamSecurityEvent(event: StreamSecurityEvent): void {
    this.record({
      occurredAt: chainTime(this.clock.now()),
      kind: 'security',
      requestId: null,
      subject: cleanOrNull(event.subject),
      clientId: null,
      method: 'WS',
      route: '/v1/stream',
      action: event.action,
      accountId: cleanOrNull(event.accountId, 100),
      environment: null,
      target: event.accountId ? { accountId: clean(event.accountId, 100) } : {},
      status: event.status ?? 401,
      code: event.code,
    });
  }

  private track(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? '';
    const path = (req.url ?? '').split('?')[0] ?? '';
    let code: string | null = null;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.end = ((...args: unknown[]) => {
      if (res.statusCode >= 400) {
        code = problemCode(res, args[0]);
      }
      return end(...args);
    }) as ServerResponse['end'];
    const audit: RequestAudit = {
      written: false,
      describe: (status) => this.describe(req as AuditableRequest, res, method, path, null, status),
    };
    (req as { [REQUEST_AUDIT]?: RequestAudit })[REQUEST_AUDIT] = audit;
    res.once('close', () => {
      if (audit.written) {
        return; // Written with the change it records (auditInTransaction).
      }
      const draft = this.describe(req as AuditableRequest, res, method, path, code);
      if (draft) {
        this.record(draft);
      }
    });
  }

  private describe(
    req: AuditableRequest,
    res: ServerResponse,
    method: string,
    path: string,
    code: string | null,
    decided?: number,
  ): AuditDraft | null {
    // Null: the client went away before an answer was sent; what happened is in the order's own events.
    // `decided`: the status the answer is being given, for an entry written before it is sent.
    const status = decided ?? (res.headersSent ? res.statusCode : null);
    const context = req[AUDIT_CONTEXT];
    const change =
      (!SAFE_METHODS.has(method) || context?.change === true) && (path === '/v1' || path.startsWith('/v1/'));
    if (!change && !(status !== null && SECURITY_STATUSES.has(status))) {
      return null;
    }
    const kind: AuditKind = change ? 'change' : 'security';
    const principal = (req as Partial<AuthenticatedRequest>).principal;
    const subject = typeof principal?.subject === 'string' ? principal.subject : null;
    const params = Object.fromEntries(Object.entries(context?.params ?? {}).map(([k, v]) => [k, clean(v, 100)]));
    const target: Record<string, string> = { ...bodyTargets(req.body), ...params };
    const requestId = res.getHeader('x-request-id');
    return {
      occurredAt: chainTime(this.clock.now()),
      kind,
      requestId: cleanOrNull(requestId, 128),
      subject: cleanOrNull(subject),
      clientId: subject === null ? null : clientIdOf(req.headers.authorization),
      method: clean(method, 16),
      route: clean(context?.route ?? path, 300),
      action: context?.action ?? null,
      accountId: target['accountId'] ?? null,
      environment: null,
      target,
      status,
      code,
    };
  }

  private record(draft: AuditDraft): void {
    this.queue.push(draft);
    this.kick();
  }

  /** One writer per process: entries join the chain in the order their responses finished. */
  private kick(): void {
    if (this.writing || this.queue.length === 0) {
      return;
    }
    this.writing = this.drain().finally(() => {
      this.writing = null;
      this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      await this.write(this.queue.splice(0, BATCH_SIZE));
    }
  }

  private async write(batch: AuditDraft[]): Promise<void> {
    const retrying = this.writeRetry.onRetry(({ attempt, ...reason }) =>
      this.logger.warn(
        { err: 'error' in reason ? reason.error : undefined, attempt, entries: batch.length },
        'audit log write failed; retrying',
      ),
    );
    try {
      await this.writeRetry.execute(() => this.repository.append(batch));
    } catch (error) {
      this.writeFailures.inc(batch.length);
      this.logger.error(
        { alert: 'audit_write_failed', err: error, entries: batch },
        'AUDIT LOG WRITE FAILED after retries: these entries are not in the audit chain',
      );
    } finally {
      retrying.dispose();
    }
  }
}
