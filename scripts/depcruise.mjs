// Checks the module boundaries (docs/module-boundaries.md) with the rules of .dependency-cruiser.cjs:
// `node scripts/depcruise.mjs [--config <file>] <folders...>`, exit status 1 on any error-level violation.
//
// It calls dependency-cruiser's API the way its `depcruise` command does, because that command (version 18)
// refuses to start on Node 20, which package.json's engines and CI still support; the API runs there. On
// Node 22 or later, `npx depcruise --config .dependency-cruiser.cjs apps libs migrations` answers the same.
import { resolve } from 'node:path';
import { cruise } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const args = process.argv.slice(2);
const configAt = args.indexOf('--config');
const configFile = configAt >= 0 ? args[configAt + 1] : '.dependency-cruiser.cjs';
const roots = args.filter((_, i) => configAt < 0 || (i !== configAt && i !== configAt + 1));
if (!configFile || roots.length === 0) {
  process.stderr.write('usage: node scripts/depcruise.mjs [--config <file>] <folders...>\n');
  process.exit(2);
}

const options = await extractDepcruiseOptions(resolve(configFile));
const tsConfigFile = options.tsConfig?.fileName;
const result = await cruise(
  roots,
  { ...options, outputType: 'err' },
  {},
  { tsConfig: tsConfigFile ? extractTSConfig(tsConfigFile) : {} },
);
process.stdout.write(String(result.output));
// The reporter's exit code is the number of errors, which a shell would take modulo 256.
process.exitCode = result.exitCode > 0 ? 1 : 0;
