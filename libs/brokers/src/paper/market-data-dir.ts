import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

/**
 * The repository root (the folder holding package.json), found by walking up from this file, so it is
 * right whether the code runs from src or from dist; the working directory when none is found.
 */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.resolve(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) {
      return process.cwd();
    }
    dir = parent;
  }
  return dir;
}
