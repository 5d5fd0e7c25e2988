/**
 * Prometheus' own checker, `promtool` (Debian's `prometheus` package; `.ci/run`
 * installs it when it is missing): the authority on what the daemon writes and
 * on the README's alert rule. The tests require it rather than skip without it.
 */
import { spawnSync } from 'node:child_process';

export function promtool(args: readonly string[], input?: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8' });
  if (r.error !== undefined) throw new Error(`promtool did not run (Debian's prometheus package has it; .ci/run installs it): ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** `promtool check metrics` on `text`, read from standard input as the README shows. */
export const promtoolCheckMetrics = (text: string) => promtool(['check', 'metrics'], text);
