#!/usr/bin/env node
// `npm run checks`: lint, the format check, the dependency rules and the type check, side by side (they
// only read the tree), each one's output printed whole once it ends; exits 1 when any of them failed.
// `npm test` runs it before the build and the tests.
import { spawn } from 'node:child_process';

const CHECKS = ['lint', 'format:check', 'depcruise', 'typecheck'];

const results = await Promise.all(
  CHECKS.map(
    (name) =>
      new Promise((resolve) => {
        const child = spawn('npm', ['run', '-s', name], { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (d) => (output += d));
        child.stderr.on('data', (d) => (output += d));
        child.on('close', (code) => {
          process.stdout.write(`${code === 0 ? 'ok  ' : 'FAIL'} ${name}\n${code === 0 ? '' : output}`);
          resolve(code === 0);
        });
      }),
  ),
);
process.exitCode = results.every(Boolean) ? 0 : 1;
