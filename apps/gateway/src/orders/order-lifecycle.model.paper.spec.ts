/**
 * The order lifecycle model (testing/order-lifecycle.model.ts) against the paper venue: the FaultyVenue is the
 * gateway's ExecutionClient itself. 500 sequences by default (MODEL_RUNS and the other knobs: see the model).
 */
import { describeOrderLifecycleModel, paperHarness } from './testing/order-lifecycle.model.js';

describeOrderLifecycleModel(paperHarness);
