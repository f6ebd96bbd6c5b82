/** Milliseconds in one day: the range of a time of day is [0, MS_PER_DAY). */
export const MS_PER_DAY = 86_400_000;

const TIME_OF_DAY = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/;

/**
 * Parses a wall-clock time of day, `"HH:MM:SS"` or `"HH:MM:SS.mmm"` (24-hour), into ms after midnight.
 * A number is taken as ms after midnight already. Throws RangeError for anything else (a config error).
 */
export function parseTimeOfDay(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value >= MS_PER_DAY) {
      throw new RangeError(`time of day must be an integer number of ms in [0, ${MS_PER_DAY}), got ${value}`);
    }
    return value;
  }
  const m = TIME_OF_DAY.exec(value);
  if (!m) {
    throw new RangeError(`time of day must look like HH:MM:SS[.mmm], got ${JSON.stringify(value)}`);
  }
  const [hh, mm, ss] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = m[4] === undefined ? 0 : Number(m[4].padEnd(3, '0'));
  if (hh > 23 || mm > 59 || ss > 59) {
    throw new RangeError(`time of day out of range: ${JSON.stringify(value)}`);
  }
  return ((hh * 60 + mm) * 60 + ss) * 1000 + ms;
}

/** Formats ms after midnight as `"HH:MM:SS.mmm"`. */
export function formatTimeOfDay(msOfDay: number): string {
  const ms = msOfDay % 1000;
  const totalSeconds = Math.floor(msOfDay / 1000);
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  return `${pad(Math.floor(totalSeconds / 3600))}:${pad(Math.floor(totalSeconds / 60) % 60)}:${pad(totalSeconds % 60)}.${pad(ms, 3)}`;
}
