import type { Command } from 'commander';
import { loadConfig, type GatewayConfig } from '../config/config.js';
import { CliError, EXIT_UNAVAILABLE, fail, type GlobalOptions } from './cli-io.js';
import { GatewayApi } from './gateway-api.js';

/** What a command's action works with: the server's configuration, the global options, the REST API. */
export interface CliContext {
  readonly config: GatewayConfig;
  readonly options: GlobalOptions;
  readonly api: GatewayApi;
}

/**
 * Wraps a command's action: reads the configuration the server reads (its environment variables), hands
 * the action its context, and turns any failure into one line (or `--json` error) and an exit status.
 */
export function action<A extends unknown[]>(
  run: (ctx: CliContext, ...args: A) => Promise<void>,
): (...args: [...A, Command]) => Promise<void> {
  return async (...args) => {
    const command = args[args.length - 1] as Command;
    const options = command.optsWithGlobals<GlobalOptions>();
    try {
      let config: GatewayConfig;
      try {
        config = loadConfig();
      } catch (error) {
        throw new CliError((error as Error).message, EXIT_UNAVAILABLE, 'config.invalid');
      }
      await run({ config, options, api: new GatewayApi(config, options) }, ...(args.slice(0, -1) as A));
    } catch (error) {
      fail(options, error);
    }
  };
}
