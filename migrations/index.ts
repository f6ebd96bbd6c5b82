import { InitialSchema1763596800000 } from './1763596800000-initial-schema.js';

/** Every migration, in order. New migrations are appended here. */
export const MIGRATIONS = [InitialSchema1763596800000];
