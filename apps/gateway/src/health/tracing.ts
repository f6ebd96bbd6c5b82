import {
  context,
  type Context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { NextFunction, Request, Response } from 'express';
import type { StageStart } from './stage-clock.js';

/*
 * OpenTelemetry traces (README, "Tracing"): off unless OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; then spans go out as OTLP over HTTP (JSON) through the
 * SDK's batch processor, configured by the standard OTEL_* variables (OTEL_SERVICE_NAME,
 * OTEL_BSP_SCHEDULE_DELAY...). One trace per order:
 *
 *   HTTP request (SERVER span; child of the web app's W3C `traceparent` when it sends one)
 *     ├─ order.validation, order.risk_checks, order.intent_commit,
 *     │  order.intent_transaction, order.broker_submit, order.answer_*, ... (the latency stages)
 *     └─ execution_report (one per report of the order, as it arrives, however late)
 *          └─ order.report_applied, order.report_delivered ...
 *
 * The stage spans are the `gateway_order_stage_seconds` observations themselves, made spans with the
 * same start and end (metrics.ts calls `traceStage`), so the trace and the histograms never disagree
 * (the lock waits, observed as figures, are not spans: each is the start of its transaction's span).
 * No auto-instrumentation is loaded: the gateway's own spans are the ones a desk reads, and off costs
 * one boolean test per stage. An execution report joins its order's trace while the instance that took
 * the order remembers it (the last ORDER_TRACES_KEPT orders, in memory); a report handled by another
 * instance or after a restart starts a trace of its own, with the `order.id` attribute to join them by.
 */

const TRACER = 'execution-gateway';
/** How many orders' trace contexts an instance keeps for their execution reports. */
export const ORDER_TRACES_KEPT = 10_000;

let enabled = false;
const orderTraces = new Map<string, SpanContext>();

/** Whether traces are exported (OTEL_EXPORTER_OTLP_ENDPOINT set at start). */
export function tracingEnabled(): boolean {
  return enabled;
}

/**
 * Starts the SDK when an OTLP endpoint is configured; returns its shutdown (flushes the spans still
 * queued). Call once, before the server takes requests.
 */
export function startTracing(env: NodeJS.ProcessEnv = process.env): () => Promise<void> {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
    return () => Promise.resolve();
  }
  // Traces only: the metrics are Prometheus' (/metrics), the logs pino's.
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? 'execution-gateway',
    traceExporter: new OTLPTraceExporter(),
    instrumentations: [],
  });
  sdk.start();
  enabled = true;
  return async () => {
    enabled = false;
    await sdk.shutdown();
  };
}

/** `/v1/accounts/<uuid>/orders/<uuid>` → `/v1/accounts/{id}/orders/{id}`: a span name of bounded cardinality. */
function routeOf(path: string): string {
  return path.replace(
    /\/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?=\/|$)/g,
    '/{id}',
  );
}

/**
 * Express middleware: one SERVER span per request, the child of the request's W3C `traceparent`
 * (`traceparent`/`tracestate` headers) when it has one, active for everything the request does.
 */
export function tracingMiddleware(req: Request, res: Response, next: NextFunction): void {
  if (!enabled) {
    next();
    return;
  }
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  const span = trace
    .getTracer(TRACER)
    .startSpan(
      `${req.method} ${routeOf(req.path)}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path } },
      parent,
    );
  res.once('finish', () => {
    span.setAttribute('http.response.status_code', res.statusCode);
    if (res.statusCode >= 500) {
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  });
  context.with(trace.setSpan(parent, span), next);
}

/** Wall-clock epoch ms of a monotonic stage start (a span's start time). */
function wallTimeOf(start: StageStart, nowNs: bigint, nowMs: number): number {
  return nowMs - Number(nowNs - start) / 1e6;
}

/**
 * A latency stage as a span, from `start` to now, a child of the active span (the request's, or the
 * execution report's). Synchronous and cheap; nothing when tracing is off.
 */
export function traceStage(stage: string, start: StageStart, venue?: string): void {
  if (!enabled) {
    return;
  }
  const nowNs = process.hrtime.bigint();
  const nowMs = Date.now();
  const span = trace.getTracer(TRACER).startSpan(`order.${stage}`, {
    startTime: wallTimeOf(start, nowNs, nowMs),
    attributes: venue === undefined ? { 'gateway.stage': stage } : { 'gateway.stage': stage, 'gateway.venue': venue },
  });
  span.end(nowMs);
}

/**
 * Remembers the active request's trace for the order `orderId` (its client order id at the broker), so
 * the order's execution reports join it; marks the request span with the order id.
 */
export function rememberOrderTrace(orderId: string): void {
  if (!enabled) {
    return;
  }
  const span = trace.getActiveSpan();
  if (!span) {
    return;
  }
  span.setAttribute('order.id', orderId);
  orderTraces.set(orderId, span.spanContext());
  if (orderTraces.size > ORDER_TRACES_KEPT) {
    orderTraces.delete(orderTraces.keys().next().value!);
  }
}

/**
 * Runs `work` (handling one execution report of `orderId`) inside an `execution_report` span, a child
 * of the order's request span when this instance took the order, else the root of a trace of its own.
 */
export function inOrderTrace<T>(
  orderId: string,
  attributes: Record<string, string>,
  work: () => Promise<T>,
): Promise<T> {
  if (!enabled) {
    return work();
  }
  const remembered = orderTraces.get(orderId);
  const parent: Context = remembered ? trace.setSpanContext(ROOT_CONTEXT, remembered) : ROOT_CONTEXT;
  const span: Span = trace
    .getTracer(TRACER)
    .startSpan(
      'execution_report',
      { kind: SpanKind.CONSUMER, attributes: { 'order.id': orderId, ...attributes } },
      parent,
    );
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await work();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}
