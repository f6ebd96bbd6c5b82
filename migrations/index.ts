import { InitialSchema1763596800000 } from './1763596800000-initial-schema.js';
import { RiskControls1795219200000 } from './1795219200000-risk-controls.js';

/** Every migration, in order. New migrations are appended here. */
export const MIGRATIONS = [InitialSchema1763596800000, RiskControls1795219200000];
