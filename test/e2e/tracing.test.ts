import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { orderWhen } from '../support/e2e.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { Api } from '../support/http.js';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';

/**
 * OpenTelemetry traces (README, "Tracing"), exported by the built gateway as OTLP over HTTP to a small
 * receiver: one trace per order, from the HTTP request (the child of the web app's `traceparent`)
 * through the latency stages to the execution reports that follow, each span under its parent.
 */
let db: TestDatabase;
let gw: GatewayProcess;
let api: Api;
let receiver: OtlpReceiver;

beforeAll(async () => {
  receiver = await OtlpReceiver.start();
  db = await createTestDatabase();
  gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  api = new Api(gw.url, gw.traderToken);
});
afterAll(async () => {
  await gw?.stop();
  await db?.drop();
  await receiver?.close();
});

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const ORDERS = () => `/v1/accounts/${gw.accountId}/orders`;
const REQUEST_SPAN = 'POST /v1/accounts/{id}/orders';
const PLACE_STAGES = [
  'order.validation',
  'order.risk_checks',
  'order.intent_commit',
  'order.intent_transaction',
  'order.intent_publish',
  'order.broker_submit',
  'order.answer_transaction',
];

function inTrace(spans: readonly ReceivedSpan[], traceId: string): ReceivedSpan[] {
  return spans.filter((s) => s.traceId === traceId);
}

describe('tracing', () => {
  it("a placed order is one trace under the web app's traceparent: request, stages, then its execution reports", async () => {
    const traceId = hex(16);
    const appSpanId = hex(8);
    const res = await api.post(
      ORDERS(),
      { clientOrderId: 'traced-1', symbol: 'SPY', side: 'buy', quantity: '3', type: 'market' },
      { traceparent: `00-${traceId}-${appSpanId}-01` },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const orderId = res.body.id as string;
    await orderWhen(api, gw.accountId, orderId, (o) => o.status === 'filled', 'filled');

    const spans = inTrace(
      await receiver.waitFor((all) =>
        inTrace(all, traceId).some(
          (s) => s.name === 'execution_report' && s.attributes['report.exec_type'] === 'trade',
        ),
      ),
      traceId,
    );
    const request = spans.find((s) => s.name === REQUEST_SPAN);
    expect(request, spans.map((s) => s.name).join(', ')).toBeDefined();
    // The web app's span is the root: the request is its child.
    expect(request!.parentSpanId).toBe(appSpanId);
    expect(request!.attributes['order.id']).toBe(orderId);
    expect(request!.attributes['http.response.status_code']).toBe(201);

    for (const name of PLACE_STAGES) {
      const stage = spans.find((s) => s.name === name);
      expect(stage, name).toBeDefined();
      expect(stage!.parentSpanId, name).toBe(request!.spanId);
      // Inside the request, in time.
      expect(BigInt(stage!.startTimeUnixNano), name).toBeGreaterThanOrEqual(BigInt(request!.startTimeUnixNano));
      expect(BigInt(stage!.endTimeUnixNano), name).toBeLessThanOrEqual(BigInt(request!.endTimeUnixNano));
    }
    const intent = spans.find((s) => s.name === 'order.intent_transaction')!;
    const submit = spans.find((s) => s.name === 'order.broker_submit')!;
    expect(BigInt(submit.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(intent.endTimeUnixNano));
    expect(submit.attributes['gateway.venue']).toBe('paper');

    // The reports that follow join the order's trace under the request, each with its own stages.
    const reports = spans.filter((s) => s.name === 'execution_report');
    expect(reports.length).toBeGreaterThanOrEqual(1);
    for (const report of reports) {
      expect(report.parentSpanId).toBe(request!.spanId);
      expect(report.attributes['order.id']).toBe(orderId);
    }
    const fill = reports.find((s) => s.attributes['report.exec_type'] === 'trade')!;
    const applied = spans.filter((s) => s.name === 'order.report_applied' && s.parentSpanId === fill.spanId);
    expect(applied).toHaveLength(1);
  });

  it('without a traceparent the request span is the root of a trace of its own', async () => {
    const res = await api.post(ORDERS(), {
      clientOrderId: 'traced-2',
      symbol: 'SPY',
      side: 'buy',
      quantity: '1',
      type: 'market',
    });
    expect(res.status).toBe(201);
    const spans = await receiver.waitFor((all) =>
      all.some((s) => s.name === REQUEST_SPAN && s.attributes['order.id'] === res.body.id),
    );
    const request = spans.find((s) => s.name === REQUEST_SPAN && s.attributes['order.id'] === res.body.id)!;
    expect(request.parentSpanId ?? '').toBe('');
    expect(spans.filter((s) => s.traceId === request.traceId && s.name === 'order.broker_submit')).toHaveLength(1);
  });
});
