/**
 * How a command's action runs. Apart from main.ts because the commands need
 * the Runner type and main.ts needs the commands: one module each way would
 * make them import each other.
 */
import type { Command, OptionValues } from 'commander';
import { commandContext, type CommandContext, type GlobalOptions } from './context.js';
import type { CliIo } from './io.js';

/** Wraps a command's action: builds its context from the global options and records its exit status. */
export type Runner = <O extends OptionValues>(
  action: (ctx: CommandContext, opts: O, args: string[]) => Promise<number>,
) => (...args: unknown[]) => Promise<void>;

/** The Runner for one command line; `record` receives the exit status of the action that ran. */
export function createRunner(io: CliIo, record: (status: number) => void): Runner {
  return (action) => async (...args) => {
    // commander passes the Command itself last.
    const command = args[args.length - 1] as Command;
    const ctx = commandContext(command.optsWithGlobals<GlobalOptions>(), io);
    record(await action(ctx, command.opts() as Parameters<typeof action>[1], command.args));
  };
}
