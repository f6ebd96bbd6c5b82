import path from 'node:path';

/**
 * The directory of the recorded market data: `MARKET_DATA_DIR` when set, otherwise
 * `<repoRoot>/../shared/data/market` (the files are never copied into the repository).
 */
export function resolveMarketDataDir(
  repoRoot: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const fromEnv = env.MARKET_DATA_DIR;
  return fromEnv !== undefined && fromEnv !== ''
    ? path.resolve(fromEnv)
    : path.resolve(repoRoot, '../shared/data/market');
}
