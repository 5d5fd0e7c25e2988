/** The benchmark's command line. */
import { parseArgs } from 'node:util';

/** Mercurial's walk is quadratic: above this many repositories it takes minutes, so it runs only on request. */
export const MERCURIAL_DEFAULT_LIMIT = 20_000;

export interface BenchOptions {
  readonly sizes: readonly number[];
  /** Timed runs per contender; undefined picks by size (fewer for big trees). */
  readonly runs: number | undefined;
  readonly mercurialAll: boolean;
  /** Print only the JSON summary line on stdout. */
  readonly jsonOnly: boolean;
}

export const USAGE = `usage: node dist/bench/run.js [--sizes 10000,100000] [--runs N] [--hg-all] [--json]

  --sizes LIST  numbers of stand-in repositories (default 10000,100000)
  --runs N      timed runs per contender (default 5 up to ${MERCURIAL_DEFAULT_LIMIT.toLocaleString('en-US')}, 3 above)
  --hg-all      run Mercurial's quadratic walk at every size (minutes at 100,000)
  --json        print only the JSON summary line on stdout
`;

export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      sizes: { type: 'string' },
      runs: { type: 'string' },
      'hg-all': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const sizes = (values.sizes ?? '10000,100000').split(',').map((s) => positiveInt('--sizes', s.trim()));
  return {
    sizes,
    runs: values.runs === undefined ? undefined : positiveInt('--runs', values.runs),
    mercurialAll: values['hg-all'],
    jsonOnly: values.json,
  };
}

function positiveInt(option: string, text: string): number {
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new Error(`${option}: "${text}" is not a positive whole number`);
  return n;
}
