/**
 * The order lifecycle model (testing/order-lifecycle.model.ts) against Schwab: the gateway's SchwabClient over
 * real HTTP and the streamer's WebSocket to an in-process fake Schwab over the sequence's FaultyVenue
 * (testing/lifecycle-harness-schwab.ts). 500 sequences by default (MODEL_RUNS and the other knobs: see the model).
 */
import { schwabHarness } from './testing/lifecycle-harness-schwab.js';
import { describeOrderLifecycleModel } from './testing/order-lifecycle.model.js';

describeOrderLifecycleModel(schwabHarness);
