import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveMarketDataDir } from './market-data-dir.js';
import { loadMarketData } from './market-data-loader.js';
import { defaultMarketDataSets } from './market-data-sets.js';
import { MarketReplay } from './market-replay.js';
import { applyReplayCommand } from './replay-command.js';

const dataDir = resolveMarketDataDir(fileURLToPath(new URL('../../../../', import.meta.url)));
const data = loadMarketData(dataDir, defaultMarketDataSets());

describe('applyReplayCommand', () => {
  it('pauses and steps, or steps and resumes, in one command', () => {
    const replay = new MarketReplay({ data, speed: 1 });
    applyReplayCommand(replay, { paused: true, stepTo: '09:31:00' });
    expect(replay.state()).toMatchObject({ timeOfDay: '09:31:00.000', paused: true, speed: 1 });
    applyReplayCommand(replay, { stepTo: '09:32:00', speed: 5, paused: false });
    expect(replay.state()).toMatchObject({ timeOfDay: '09:32:00.000', paused: false, speed: 5 });
  });

  it('applies pause before the step and resume after it: a time outside the window throws between them', () => {
    const running = new MarketReplay({ data, speed: 1 });
    expect(() => applyReplayCommand(running, { paused: true, stepTo: '11:00:00' })).toThrow(RangeError);
    expect(running.state().paused).toBe(true);
    const paused = new MarketReplay({ data, paused: true });
    expect(() => applyReplayCommand(paused, { stepTo: '11:00:00', paused: false })).toThrow(RangeError);
    expect(paused.state()).toMatchObject({ timeOfDay: '09:30:00.000', paused: true });
  });
});
