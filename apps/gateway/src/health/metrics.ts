import { Inject, Injectable, Optional } from '@nestjs/common';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';

/** Prometheus metrics of the gateway (`GET /metrics`). Labels never carry ids or secrets. */
@Injectable()
export class GatewayMetrics {
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

  /**
   * Every series carries the deployment's environments (`environments="paper"`; README, "Paper and live"); the order
   * metrics also carry the order's own `environment`.
   */
  constructor(@Optional() @Inject(GATEWAY_CONFIG) config?: GatewayConfig) {
    this.registry.setDefaultLabels({ environments: (config?.environments ?? ['paper']).join(',') });
    collectDefaultMetrics({ register: this.registry });
  }
}
