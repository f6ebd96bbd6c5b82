import { InitialSchema1763596800000 } from './1763596800000-initial-schema.js';
import { RiskControls1795219200000 } from './1795219200000-risk-controls.js';
import { AuditLog1795305600000 } from './1795305600000-audit-log.js';
import { GrantsAndLive1795392000000 } from './1795392000000-grants-and-live.js';
import { WorkingExposure1795478400000 } from './1795478400000-working-exposure.js';
import { RiskLimitsVersion1795564800000 } from './1795564800000-risk-limits-version.js';
import { AuditPartitions1795651200000 } from './1795651200000-audit-partitions.js';
import { BrokerCredentials1795737600000 } from './1795737600000-broker-credentials.js';
import { BrokerConnections1795824000000 } from './1795824000000-broker-connections.js';
import { ReconciliationRuns1795910400000 } from './1795910400000-reconciliation-runs.js';
import { AccountBrokerId1795996800000 } from './1795996800000-account-broker-id.js';
import { OrderIntentMid1796256000000 } from './1796256000000-order-intent-mid.js';
import { EventExports1796400000000 } from './1796400000000-event-exports.js';
import { ReconciliationBreaks1796428800000 } from './1796428800000-reconciliation-breaks.js';
import { ExportOutbox1796515200000 } from './1796515200000-export-outbox.js';

/** Every migration, in order. New migrations are appended here. */
export const MIGRATIONS = [
  InitialSchema1763596800000,
  RiskControls1795219200000,
  AuditLog1795305600000,
  GrantsAndLive1795392000000,
  WorkingExposure1795478400000,
  RiskLimitsVersion1795564800000,
  AuditPartitions1795651200000,
  BrokerCredentials1795737600000,
  BrokerConnections1795824000000,
  ReconciliationRuns1795910400000,
  AccountBrokerId1795996800000,
  OrderIntentMid1796256000000,
  EventExports1796400000000,
  ReconciliationBreaks1796428800000,
  ExportOutbox1796515200000,
];
