import { Inject, Injectable, type OnModuleDestroy, Optional } from '@nestjs/common';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { ProcessLoadGauges } from './process-load.js';
import { secondsSince, type StageStart } from './stage-clock.js';
import { traceStage } from './tracing.js';

/**
 * The stages of the order path timed into `gateway_order_stage_seconds{stage}` (README, "Latency stages";
 * docs/latency-stages.md says where each starts and ends). The transaction stages come in one set per
 * unit of work: `intent_*` (the durable intent of a place or a replace), `answer_*` (the broker's answer
 * recorded), `report_*` (an execution report applied); each has `_lock_wait` (from asking for the
 * transaction to holding the account lock), `_commit`, `_transaction` (the whole, lock wait to commit) and
 * `_publish` (the after-commit handlers: the stream fan-out, ...). `broker_*` carry the `venue` label.
 */
export const ORDER_STAGES = [
  'validation',
  'intent_lock_wait',
  'risk_checks',
  'intent_commit',
  'intent_transaction',
  'intent_publish',
  'broker_submit',
  'answer_lock_wait',
  'answer_commit',
  'answer_transaction',
  'answer_publish',
  'broker_cancel',
  'broker_replace',
  'report_lock_wait',
  'report_commit',
  'report_transaction',
  'report_publish',
  'report_applied',
  'report_delivered',
] as const;
export type OrderStage = (typeof ORDER_STAGES)[number];

/** A command sent to a broker, whose round trip is timed (`broker_<command>`). */
export type BrokerCommandKind = 'submit' | 'cancel' | 'replace';

/**
 * Buckets of the stage histogram, in seconds: 25 µs to 10 s, about three per decade, so that a
 * sub-millisecond stage (validation, risk checks, publish) and a broker round trip both resolve.
 */
export const STAGE_BUCKETS = [
  0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Prometheus metrics of the gateway (`GET /metrics`). Labels never carry ids or secrets. */
@Injectable()
export class GatewayMetrics implements OnModuleDestroy {
  readonly registry = new Registry();
  readonly ordersPlaced = new Counter({
    name: 'gateway_orders_total',
    help: 'Place-order requests by outcome (created, replayed, denied) and environment',
    labelNames: ['outcome', 'environment'],
    registers: [this.registry],
  });
  readonly unknownOrders = new Counter({
    name: 'gateway_unknown_orders_total',
    help: 'Orders whose submission outcome was not known (alert)',
    labelNames: ['venue', 'environment'],
    registers: [this.registry],
  });
  readonly duplicateExecutions = new Counter({
    name: 'gateway_duplicate_executions_total',
    help: 'Execution reports received again and ignored (same broker execution id)',
    labelNames: ['venue'],
    registers: [this.registry],
  });
  readonly overfills = new Counter({
    name: 'gateway_overfills_total',
    help: 'Executions that would overfill their order, kept as evidence (alert)',
    labelNames: ['venue'],
    registers: [this.registry],
  });
  readonly reconciliationActions = new Counter({
    name: 'gateway_reconciliation_actions_total',
    help: 'Corrections made by reconciliation from broker evidence, by kind',
    labelNames: ['action'],
    registers: [this.registry],
  });
  readonly unresolvedOrders = new Counter({
    name: 'gateway_reconciliation_unresolved_total',
    help: 'Orders reconciliation could not settle from broker evidence (alert)',
    labelNames: ['venue'],
    registers: [this.registry],
  });
  readonly positionBreaks = new Gauge({
    name: 'gateway_position_breaks',
    help: "Open position breaks (reconciliation: our position differs from the broker's; entries in the symbol blocked; alert)",
    labelNames: ['venue', 'environment'],
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'gateway_auth_failures_total',
    help: 'Bearer access tokens refused, by reason (expired, bad_signature, bad_issuer, unknown_key, ...)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly tokenRefreshes = new Counter({
    name: 'gateway_broker_token_refreshes_total',
    help: 'OAuth access-token refreshes by broker and outcome (ok, failed: may pass, refused: a new login is needed)',
    labelNames: ['broker', 'outcome'],
    registers: [this.registry],
  });
  readonly brokerReauthRequired = new Counter({
    name: 'gateway_broker_reauth_required_total',
    help: 'Broker connections whose refresh token was refused for good: entries blocked until reconnected (alert)',
    labelNames: ['broker'],
    registers: [this.registry],
  });
  readonly submitLatency = new Histogram({
    name: 'gateway_broker_submit_seconds',
    help: 'Time from durable intent to the broker answer, by outcome',
    labelNames: ['venue', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly orderStages = new Histogram({
    name: 'gateway_order_stage_seconds',
    help: 'Latency of each stage of the order path (hrtime), by stage; broker stages also by venue',
    labelNames: ['stage', 'venue'],
    buckets: STAGE_BUCKETS,
    registers: [this.registry],
  });
  readonly brokerRttWindow = new Gauge({
    name: 'gateway_broker_rtt_window_seconds',
    help: "This instance's broker round trips over the lockdown's sliding window, by venue and quantile (0.5, 0.99, 1 = max)",
    labelNames: ['venue', 'quantile'],
    registers: [this.registry],
  });
  readonly brokerRttWindowCount = new Gauge({
    name: 'gateway_broker_rtt_window_count',
    help: "This instance's broker round trips in the lockdown's sliding window, by venue",
    labelNames: ['venue'],
    registers: [this.registry],
  });
  readonly lockdownActive = new Gauge({
    name: 'gateway_lockdown_active',
    help: 'RTT lockdown of a venue as this instance sees it (1: its window is over the threshold or not yet clear for the hold-off)',
    labelNames: ['venue'],
    registers: [this.registry],
  });
  readonly lockdownThreshold = new Gauge({
    name: 'gateway_lockdown_threshold_seconds',
    help: "A venue's RTT lockdown threshold (LOCKDOWN_RTT_MS)",
    labelNames: ['venue'],
    registers: [this.registry],
  });
  /** Event-loop delay and CPU gauges (`gateway_event_loop_delay_seconds`, `gateway_process_cpu_ratio`, ...). */
  readonly processLoad = new ProcessLoadGauges(this.registry);

  /**
   * Observes one stage from `start` to now, synchronously (nothing on the order path waits on it);
   * returns the seconds observed.
   */
  observeStage(stage: OrderStage, start: StageStart, venue?: string): number {
    const seconds = secondsSince(start);
    this.orderStages.observe(venue === undefined ? { stage } : { stage, venue }, seconds);
    traceStage(stage, start, venue);
    return seconds;
  }

  /**
   * Every series carries the deployment's environments (`environments="paper"`; README, "Paper and live"); the order
   * metrics also carry the order's own `environment`.
   */
  constructor(@Optional() @Inject(GATEWAY_CONFIG) config?: GatewayConfig) {
    this.registry.setDefaultLabels({ environments: (config?.environments ?? ['paper']).join(',') });
    collectDefaultMetrics({ register: this.registry });
  }

  onModuleDestroy(): void {
    this.processLoad.stop();
  }
}
