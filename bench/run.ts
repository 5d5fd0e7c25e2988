/**
 * The benchmark: hgreload's walk against `find` and Mercurial's own walk on
 * stand-in trees of N repositories (report.ts says what each figure includes),
 * then the hook's cost, the daemon against real web servers, and one site end
 * to end at scale (scale-bench.ts), the daemon's paths other than the steady
 * one (paths-bench.ts), several front ends over one store (cluster-bench.ts),
 * each part's tables and JSON line in turn.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { contenders, type ContenderKey } from './contenders.js';
import { describeMachine } from './machine.js';
import { MERCURIAL_DEFAULT_LIMIT, parseOptions, USAGE, type BenchOptions } from './options.js';
import { jsonSummary, markdown, type SizeResult } from './report.js';
import { buildTree } from './tree.js';
import { benchHook, benchInstallHooks, hookMarkdown, installMarkdown } from './hook-bench.js';
import { benchPoll, pollMarkdown, type PollResult } from './poll-bench.js';
import { benchBurst, benchMethod, benchScale, daemonMarkdown, SERVER_METHODS, type MethodResult, type ScaleResult } from './daemon-bench.js';
import { benchScaleSite, scaleSiteMarkdown, type ScaleSiteResult } from './scale-bench.js';
import { benchPaths, benchPollChange, type PathsResult } from './paths-bench.js';
import { pathsJson, pathsMarkdown } from './paths-report.js';
import { benchCluster } from './cluster-bench.js';
import { clusterJson, clusterMarkdown } from './cluster-report.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function main(argv: readonly string[]): Promise<number> {
  let options: BenchOptions | 'help';
  try {
    options = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }

  const work = mkdtempSync(join(tmpdir(), 'hgreload-bench-'));
  // Apache's user (www-data) reads the daemon part's trees and scripts.
  chmodSync(work, 0o755);
  const cleanUp = (): void => rmSync(work, { recursive: true, force: true });
  // Trees of 100,000 repositories must not outlive an interrupted run.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      log(`\n${signal}: removing ${work}`);
      cleanUp();
      process.exit(128 + constants.signals[signal]);
    });
  }
  try {
    const machine = describeMachine(work);
    if (options.only === undefined || options.only === 'discovery') {
      const results: SizeResult[] = [];
      const polls: PollResult[] = [];
      for (const size of options.sizes) results.push(await benchSize(join(work, `n${size}`), size, options, polls));
      if (!options.jsonOnly) process.stdout.write(`${markdown(results, machine)}\n\n${pollMarkdown(polls)}\n\n`);
      process.stdout.write(`${jsonSummary(results, machine)}\n`);
      process.stdout.write(`${JSON.stringify({ benchmark: 'poll', machine, polls })}\n`);
    }
    if (options.only === undefined || options.only === 'hook') {
      const hook = await benchHook(join(work, 'hook'), options.pushes);
      const install = await benchInstallHooks(join(work, 'install-hooks'), options.installSize);
      if (!options.jsonOnly) process.stdout.write(`${hookMarkdown(hook)}\n\n${installMarkdown(install)}\n\n`);
      process.stdout.write(`${JSON.stringify({ benchmark: 'hook', machine, hook, install })}\n`);
    }
    if (options.only === undefined || options.only === 'daemon') {
      const methods: MethodResult[] = [];
      for (const [kind, method] of SERVER_METHODS) methods.push(await benchMethod(join(work, `${kind}-${method}`), kind, method, options.iterations));
      const burst = await benchBurst(join(work, 'burst'), options.burst);
      const scale: ScaleResult[] = [];
      for (const [i, size] of options.sizes.entries()) {
        scale.push(await benchScale(join(work, `scale-${size}`), size, i === 0 ? options.idleSeconds : 0));
        rmSync(join(work, `scale-${size}`), { recursive: true, force: true });
      }
      if (!options.jsonOnly) process.stdout.write(`${daemonMarkdown(methods, burst, scale)}\n\n`);
      process.stdout.write(`${JSON.stringify({ benchmark: 'daemon', machine, methods, burst, scale })}\n`);
    }
    if (options.only === undefined || options.only === 'scale') {
      const results: ScaleSiteResult[] = [];
      for (const size of options.scaleSizes) {
        results.push(await benchScaleSite(join(work, `site-${size}`), size, options.iterations));
        rmSync(join(work, `site-${size}`), { recursive: true, force: true });
      }
      if (!options.jsonOnly) process.stdout.write(`${scaleSiteMarkdown(results)}\n\n`);
      process.stdout.write(`${JSON.stringify({ benchmark: 'scale', machine, results })}\n`);
    }
    if (options.only === undefined || options.only === 'paths') {
      const results: PathsResult[] = [];
      for (const [i, size] of options.pathsSizes.entries()) results.push(await benchPaths(join(work, `paths-${i}-${size.repos}`), size));
      const poll = await benchPollChange(join(work, 'poll'), options.pollSize);
      if (!options.jsonOnly) process.stdout.write(`${pathsMarkdown(results, poll, machine)}\n\n`);
      process.stdout.write(`${pathsJson(results, poll, machine)}\n`);
    }
    if (options.only === undefined || options.only === 'cluster') {
      const result = await benchCluster(join(work, 'cluster'), options.clusterSamples);
      if (!options.jsonOnly) process.stdout.write(`${clusterMarkdown(result, machine)}\n\n`);
      process.stdout.write(`${clusterJson(result, machine)}\n`);
    }
    return 0;
  } catch (err) {
    log(`bench: ${(err as Error).message}`);
    return 1;
  } finally {
    cleanUp();
  }
}

async function benchSize(dir: string, size: number, options: BenchOptions, polls: PollResult[]): Promise<SizeResult> {
  log(`${size.toLocaleString('en-US')} repositories: building the stand-in tree`);
  const start = performance.now();
  const tree = await buildTree(dir, size);
  const buildMs = performance.now() - start;
  log(`  built in ${(buildMs / 1000).toFixed(1)} s`);

  const withMercurial = options.mercurialAll || size <= MERCURIAL_DEFAULT_LIMIT;
  const list = contenders(tree, withMercurial);
  for (const c of list) {
    log(`  warm-up and check: ${c.key}`);
    await c.warmUp();
  }
  const runs = options.runs ?? (size > MERCURIAL_DEFAULT_LIMIT ? 3 : 5);
  const samples: Partial<Record<ContenderKey, number[]>> = {};
  for (let i = 1; i <= runs; i++) {
    // Contenders take turns within each run, so drift in the machine's state hits them alike.
    const line: string[] = [];
    for (const c of list) {
      const ms = await c.measure();
      (samples[c.key] ??= []).push(ms);
      line.push(`${c.key} ${Math.round(ms)} ms`);
    }
    log(`  run ${i}/${runs}: ${line.join(', ')}`);
  }
  log('  polling its folders');
  polls.push(await benchPoll(tree));
  log('  removing the tree');
  rmSync(dir, { recursive: true, force: true });
  return { repos: size, runs, buildMs, samples };
}

process.exitCode = await main(process.argv.slice(2));
