/** The benchmark's command line. */
import { parseArgs } from 'node:util';

/** Mercurial's walk is quadratic: above this many repositories it takes minutes, so it runs only on request. */
export const MERCURIAL_DEFAULT_LIMIT = 20_000;
/** The scale part's site serves at least its own root's repositories (see scale-bench.ts). */
export const SCALE_MIN_SIZE = 3;

/** A tree of the paths part: its number of stand-ins, and the root's kind in hgweb.config. */
export interface PathsSize {
  readonly repos: number;
  readonly kind: '*' | '**';
}

export interface BenchOptions {
  readonly sizes: readonly number[];
  /** Timed runs per contender; undefined picks by size (fewer for big trees). */
  readonly runs: number | undefined;
  readonly mercurialAll: boolean;
  /** Print only the JSON summary line on stdout. */
  readonly jsonOnly: boolean;
  /**
   * Which part runs: the discovery walk, the hook's cost, the daemon against web servers, one site at
   * scale end to end, the daemon's paths other than the steady one, several front ends over one
   * store; all when undefined.
   */
  readonly only: 'discovery' | 'hook' | 'daemon' | 'scale' | 'paths' | 'cluster' | undefined;
  /** Pushes timed with and without the hook. */
  readonly pushes: number;
  /** Stand-in repositories install-hooks is timed over. */
  readonly installSize: number;
  /** Repositories made one at a time per reload method; samples per measurement of the scale part. */
  readonly iterations: number;
  /** Repositories the scale part's site serves, one site per size. */
  readonly scaleSizes: readonly number[];
  /** Repositories in the burst. */
  readonly burst: number;
  /** Seconds the daemon is left idle to measure its CPU (0 skips it). */
  readonly idleSeconds: number;
  /** The paths part's trees, one daemon each. */
  readonly pathsSizes: readonly PathsSize[];
  /** Stand-ins in the paths part's flat root that is polled. */
  readonly pollSize: number;
  /** Repositories the cluster part makes per set-up, each timed until every front end lists it. */
  readonly clusterSamples: number;
}

export const USAGE = `usage: node dist/bench/run.js [--only discovery|hook|daemon|scale|paths|cluster] [--sizes 10000,100000] [--runs N] [--hg-all]
                            [--pushes N] [--install-size N] [--iterations N] [--burst N] [--idle-seconds N] [--scale-sizes 3,10000,100000]
                            [--paths-sizes 10000/**,100000/**,1000000/*] [--poll-size N] [--cluster-samples N] [--json]

  --only PART         run only one part: discovery, hook, daemon, scale, paths or cluster (default all six, in that order)
  --sizes LIST        numbers of stand-in repositories for discovery and daemon (default 10000,100000)
  --runs N            timed discovery runs per contender (default 5 up to ${MERCURIAL_DEFAULT_LIMIT.toLocaleString('en-US')}, 3 above)
  --hg-all            run Mercurial's quadratic walk at every size (minutes at 100,000)
  --pushes N          pushes timed with and without the hook (default 20)
  --install-size N    stand-in repositories install-hooks is timed over, with the hook part (default 20000)
  --iterations N      repositories made one at a time per reload method, and samples per measurement
                      of the scale part (default 10)
  --burst N           repositories in the burst (default 1000)
  --idle-seconds N    how long the daemon is left idle to measure its CPU (default 60, 0 skips)
  --scale-sizes LIST  repositories one site on Apache serves, end to end (default 3,10000,100000; at least ${SCALE_MIN_SIZE})
  --paths-sizes LIST  the paths part's trees: stand-in repositories under a \`**\` root (N or N/**) or a \`*\` root
                      (N/*), one daemon each (default 10000/**,100000/**,1000000/*)
  --poll-size N       stand-ins in the paths part's flat root found by polling (default 20000)
  --cluster-samples N repositories made per set-up of the cluster part (three front ends over one store: with
                      the database, polling every 5 s, every 0.5 s), each timed until every front end lists it (default 10)
  --json              print only the JSON summary lines on stdout
`;

export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      sizes: { type: 'string' },
      runs: { type: 'string' },
      'hg-all': { type: 'boolean', default: false },
      only: { type: 'string' },
      iterations: { type: 'string' },
      burst: { type: 'string' },
      'idle-seconds': { type: 'string' },
      'scale-sizes': { type: 'string' },
      pushes: { type: 'string' },
      'install-size': { type: 'string' },
      'paths-sizes': { type: 'string' },
      'poll-size': { type: 'string' },
      'cluster-samples': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const sizes = sizeList('--sizes', values.sizes ?? '10000,100000');
  const scaleSizes = sizeList('--scale-sizes', values['scale-sizes'] ?? `${SCALE_MIN_SIZE},10000,100000`);
  const small = scaleSizes.find((n) => n < SCALE_MIN_SIZE);
  if (small !== undefined) throw new Error(`--scale-sizes: ${small} is fewer than the ${SCALE_MIN_SIZE} repositories of the site's own root`);
  return {
    sizes,
    runs: values.runs === undefined ? undefined : positiveInt('--runs', values.runs),
    mercurialAll: values['hg-all'],
    jsonOnly: values.json,
    only: parseOnly(values.only),
    iterations: values.iterations === undefined ? 10 : positiveInt('--iterations', values.iterations),
    scaleSizes,
    pushes: values.pushes === undefined ? 20 : positiveInt('--pushes', values.pushes),
    installSize: values['install-size'] === undefined ? 20_000 : positiveInt('--install-size', values['install-size']),
    burst: values.burst === undefined ? 1000 : positiveInt('--burst', values.burst),
    idleSeconds: values['idle-seconds'] === undefined ? 60 : Number(values['idle-seconds'] === '0' ? 0 : positiveInt('--idle-seconds', values['idle-seconds'])),
    pathsSizes: (values['paths-sizes'] ?? '10000/**,100000/**,1000000/*').split(',').map((s) => pathsSize(s.trim())),
    pollSize: values['poll-size'] === undefined ? 20_000 : positiveInt('--poll-size', values['poll-size']),
    clusterSamples: values['cluster-samples'] === undefined ? 10 : positiveInt('--cluster-samples', values['cluster-samples']),
  };
}

function sizeList(option: string, text: string): number[] {
  return text.split(',').map((s) => positiveInt(option, s.trim()));
}

function positiveInt(option: string, text: string): number {
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new Error(`${option}: "${text}" is not a positive whole number`);
  return n;
}

/** `N`, `N/**` or `N/*`: written as hgweb.config writes the root. */
function pathsSize(text: string): PathsSize {
  const m = /^([^/]+?)(?:\/(\*\*?))?$/.exec(text);
  if (m === null) throw new Error(`--paths-sizes: "${text}" is not N, N/** or N/*`);
  return { repos: positiveInt('--paths-sizes', m[1]!), kind: m[2] === '*' ? '*' : '**' };
}

function parseOnly(value: string | undefined): BenchOptions['only'] {
  if (value === undefined || value === 'discovery' || value === 'hook' || value === 'daemon' || value === 'scale' || value === 'paths' || value === 'cluster') return value;
  throw new Error(`--only: "${value}" is not discovery, hook, daemon, scale, paths or cluster`);
}
