#!/usr/bin/env node
// The admin CLI's entry (`npm run cli -- <command>`, `npm run token`, the `gateway` bin): runs the built
// CLI (dist/apps/gateway/src/cli/main.js), building the project first only when the build is missing or
// older than a source file, so a call takes a fraction of a second instead of a whole build.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist/apps/gateway/src/cli/main.js');

/** The newest modification time of the TypeScript sources the build compiles (tests aside). */
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'testing') {
        newest = Math.max(newest, newestSource(path));
      }
    } else if (entry.name.endsWith('.ts') && !/\.(spec|test)\.ts$/.test(entry.name)) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

function builtAt() {
  try {
    return statSync(built).mtimeMs;
  } catch {
    return -1;
  }
}

const sources = Math.max(...['apps', 'libs', 'migrations'].map((d) => newestSource(join(root, d))));
if (builtAt() < sources) {
  process.stderr.write('gateway: building the project first (npm run build)...\n');
  const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (build.status !== 0) {
    process.exit(2);
  }
}
await import(pathToFileURL(built).href);
