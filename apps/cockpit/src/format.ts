/** Display helpers: durations, percentages, ages. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1_000));
  if (s < 60) {
    return `${s} s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    return `${m} min ${s % 60} s`;
  }
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} h ${m % 60} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
}

export const percent = (v: number | null): string => (v === null ? '–' : `${(v * 100).toFixed(1)} %`);
export const ms = (v: number | null | undefined, digits = 2): string =>
  v === null || v === undefined ? '–' : `${v.toFixed(digits)} ms`;
export const time = (epochMs: number | null): string =>
  epochMs === null ? '–' : new Date(epochMs).toISOString().replace('T', ' ').slice(0, 19) + 'Z';
