/**
 * The order lifecycle model (testing/order-lifecycle.model.ts) against Alpaca: the gateway's AlpacaClient over
 * real HTTP and WebSocket to an in-process fake Alpaca over the sequence's FaultyVenue
 * (testing/lifecycle-harness-alpaca.ts). 500 sequences by default (MODEL_RUNS and the other knobs: see the model).
 */
import { alpacaHarness } from './testing/lifecycle-harness-alpaca.js';
import { describeOrderLifecycleModel } from './testing/order-lifecycle.model.js';

describeOrderLifecycleModel(alpacaHarness);
