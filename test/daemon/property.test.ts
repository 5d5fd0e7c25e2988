/**
 * The daemon against Mercurial's hgwebdir over seeded random sequences of
 * what happens to a hosting tree: repositories made, removed, renamed and
 * moved, nested ones under `**`, `.hg/patches`, hidden folders, symlinks to
 * folders inside and outside the root (loops too). After each batch, a cookie
 * repository is the barrier (its reload comes after every earlier change),
 * and the published list must equal what hgwebdir serves for the same tree,
 * names, paths and order. The seed is printed on failure; HGRELOAD_SEED=N
 * replays one.
 *
 * Changes are applied by the incremental model (src/model/), through the
 * daemon's events, coalescing, snapshot and journal: the published list read
 * here is the snapshot with the journal applied.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type DaemonProcess, isReload, type LogLine, publishingDaemon } from '../helpers/daemon-process.js';
import { makeTempDir, runOracle } from '../helpers/run.js';
import { seeded } from '../helpers/random.js';
import { readPublished } from '../helpers/published.js';

const BATCHES = 12;
const OPS_PER_BATCH = 8;

// Without symlinks every change is applied in part; with them, the root is walked whole.
for (const links of [false, true])
describe(`the published list equals hgwebdir after random changes (property${links ? ', with symlinks' : ''})`, () => {
  const dir = makeTempDir('hgreload-property-');
  const base = dir.path;
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  let daemon: DaemonProcess | undefined;
  after(async () => {
    await daemon?.stop();
    dir.remove();
  });

  it('over batches of random operations', async (t) => {
    const { seed, rnd, pick } = seeded(t);
    const names = ['a', 'b', 'c', '.hidden', 'deep'];
    const log: string[] = [];

    /** Every folder below root (not inside .hg), found by walking without following symlinks. */
    const folders = (): string[] => {
      const out: string[] = [root];
      const walk = (d: string): void => {
        for (const e of readdirSync(d, { withFileTypes: true })) {
          if (!e.isDirectory() || e.name === '.hg') continue;
          out.push(join(d, e.name));
          walk(join(d, e.name));
        }
      };
      if (existsSync(root)) walk(root);
      return out;
    };
    const ops: Array<() => string> = [
      () => {
        const p = join(pick(folders()), pick(names));
        mkdirSync(join(p, '.hg'), { recursive: true });
        return `repository ${p}`;
      },
      () => {
        const p = join(pick(folders()), pick(names), pick(names));
        mkdirSync(p, { recursive: true });
        return `folders ${p}`;
      },
      () => {
        const victims = folders().filter((f) => f !== root);
        if (victims.length === 0) return 'nothing to remove';
        const p = pick(victims);
        rmSync(p, { recursive: true, force: true });
        return `removed ${p}`;
      },
      () => {
        const from = folders().filter((f) => f !== root);
        if (from.length === 0) return 'nothing to move';
        const a = pick(from);
        const target = join(pick(folders().filter((f) => !f.startsWith(`${a}/`) && f !== a)), `moved-${Math.floor(rnd() * 100)}`);
        if (existsSync(target) || !existsSync(dirname(target))) return 'no place to move to';
        renameSync(a, target);
        return `moved ${a} to ${target}`;
      },
      () => {
        // A new repository with its patch queue (one added to an existing repository is seen by the
        // scheduled rescan: nothing watches inside .hg).
        const p = join(pick(folders()), `pq-${pick(names)}`);
        if (existsSync(p)) return 'repository exists';
        mkdirSync(join(p, '.hg/patches/.hg'), { recursive: true });
        return `new repository with a patch queue ${p}`;
      },
      ...(links ? [(): string => {
        const link = join(pick(folders()), `link-${Math.floor(rnd() * 100)}`);
        // (existsSync follows a link: one whose target is gone counts as there too)
        if (existsSync(link) || readdirSync(dirname(link)).includes(basename(link))) return 'link exists';
        const target = rnd() < 0.5 ? pick(folders()) : join(outside, pick(['x', 'y']));
        symlinkSync(target, link);
        return `symlink ${link} -> ${target}`;
      }] : []),
    ];

    mkdirSync(root);
    for (const o of ['x/r1', 'y/r2/nested']) mkdirSync(join(outside, o, '.hg'), { recursive: true });
    daemon = await publishingDaemon(base, `/ = ${root}/**`);

    for (let batch = 0; batch < BATCHES; batch++) {
      for (let i = 0; i < OPS_PER_BATCH; i++) log.push(pick(ops)());
      const from = daemon.mark;
      const cookie = `zz-cookie-${batch}`;
      mkdirSync(join(root, cookie, '.hg'), { recursive: true });
      // The log names at most 20 added repositories: the published list itself is read after each reload.
      await daemon.waitFor((l) => isReload(l) && readPublished(join(base, 'state')).some((r) => r.name === cookie), `the cookie of batch ${batch} (seed ${seed})`, { from });
      const published = readPublished(join(base, 'state'));
      const hgweb = runOracle(join(base, 'hgweb.config'), { cwd: base });
      assert.ok('repos' in hgweb, `hgwebdir failed (seed ${seed}): ${JSON.stringify(hgweb)}`);
      assert.deepEqual(published, hgweb.repos, `batch ${batch}, seed ${seed}; operations so far:\n${log.join('\n')}`);
    }
  });
});

/**
 * hgweb.config edited among the folder changes: its lines reordered, the
 * globs of one entry reversed while a name is in both roots (the same
 * entries, in another order: only the order tells the lists apart), and the
 * file broken in the middle of a burst, then mended. Each batch ends, as
 * above, with the published list equal to hgwebdir's.
 */
describe('the published list equals hgwebdir after random changes with hgweb.config edited (property, config)', () => {
  const dir = makeTempDir('hgreload-property-config-');
  const base = dir.path;
  let daemon: DaemonProcess | undefined;
  after(async () => {
    await daemon?.stop();
    dir.remove();
  });

  it('over batches of random operations', async (t) => {
    const { seed, rnd, pick } = seeded(t);
    const log: string[] = [];
    const config = join(base, 'hgweb.config');
    const folders = ['a', 'b', 'c'].map((f) => join(base, f));
    // The same repository name in a and b: under `both`, the name is listed twice, in the order of the globs.
    for (const f of folders) mkdirSync(join(f, 'r1/.hg'), { recursive: true });
    mkdirSync(join(folders[0]!, 'r3/.hg'), { recursive: true });
    // Each good hgweb.config written also serves gen/r from a folder of its own: the list that has it is
    // the one made after that file was read (the barrier at the end of a batch).
    let generation = 0;
    const gen = (n: number): string => join(base, `gen-${n}`);
    let lines: string[] = [];
    /** The lines in another order, the globs of `both` maybe reversed: the same entries, another order. */
    const reordered = (): string => {
      const text = (): string => `[paths]\n${lines.join('\n')}\n`;
      const was = text();
      while (text() === was) {
        lines = lines.sort(() => rnd() - 0.5).map((l) => (l.startsWith('both') ? `both = ${pick([`${folders[0]}/* ${folders[1]}/*`, `${folders[1]}/* ${folders[0]}/*`])}` : l));
      }
      return text();
    };
    const good = (): string => {
      generation++;
      mkdirSync(join(gen(generation), 'r/.hg'), { recursive: true });
      lines = [`x = ${folders[0]}/*`, `y = ${folders[1]}/*`, `both = ${folders[0]}/* ${folders[1]}/*`, `z = ${folders[2]}/**`, `gen = ${gen(generation)}/*`];
      return reordered();
    };
    const write = (text: string): void => {
      writeFileSync(`${config}.new`, text);
      renameSync(`${config}.new`, config);
    };
    const repoOps: Array<() => string> = [
      () => {
        const p = join(pick(folders), pick(['r1', 'r2', 'r3', 'r4']));
        mkdirSync(join(p, '.hg'), { recursive: true });
        return `repository ${p}`;
      },
      () => {
        const p = join(pick(folders), pick(['r1', 'r2', 'r3', 'r4']));
        rmSync(p, { recursive: true, force: true });
        return `removed ${p}`;
      },
      () => {
        const text = rnd() < 0.5 ? good() : reordered();
        write(text);
        return `hgweb.config: ${text.split('\n').slice(1).join(' | ')}`;
      },
    ];
    const cycleFor = (l: LogLine): boolean => (isReload(l) || l.msg === 'served list unchanged; no reload') && (l.reasons as string[]).some((r) => r.startsWith('config '));

    write(good());
    // At debug level the log says when a cycle left the list as it was: the barrier for an edit that changes only its order.
    daemon = await publishingDaemon(base, undefined, { debug: true });

    for (let batch = 0; batch < BATCHES; batch++) {
      for (let i = 0; i < OPS_PER_BATCH / 2; i++) log.push(pick(repoOps)());
      if (rnd() < 0.5) {
        // Broken in the middle of the burst: changes come while the daemon cannot read it, then it is mended.
        const from = daemon.mark;
        write('[paths]\nbroken = \n  \n[unclosed\n');
        log.push('hgweb.config broken');
        await daemon.waitFor((l) => l.msg.startsWith('cannot use hgweb.config'), `the broken hgweb.config seen (seed ${seed})`, { from });
        for (let i = 0; i < OPS_PER_BATCH / 2; i++) log.push(pick(repoOps.slice(0, 2))());
        const text = good();
        write(text);
        log.push(`hgweb.config mended: ${text.split('\n').slice(1).join(' | ')}`);
      } else {
        for (let i = 0; i < OPS_PER_BATCH / 2; i++) log.push(pick(repoOps)());
      }
      // The barrier: an hgweb.config that serves a new gen/r, published once the daemon read it; then the
      // same entries in another order (a cycle for it, whatever it did), then a repository made (its change
      // applied to the list of that order).
      let from = daemon.mark;
      let text = good();
      write(text);
      log.push(`hgweb.config: ${text.split('\n').slice(1).join(' | ')}`);
      const genRepo = join(gen(generation), 'r');
      await daemon.waitFor((l) => isReload(l) && readPublished(join(base, 'state')).some((r) => r.path === genRepo), `the hgweb.config of batch ${batch} (seed ${seed})`, { from });
      from = daemon.mark;
      text = reordered();
      write(text);
      log.push(`hgweb.config reordered: ${text.split('\n').slice(1).join(' | ')}`);
      await daemon.waitFor(cycleFor, `the cycle for the reordered hgweb.config of batch ${batch} (seed ${seed})`, { from });
      from = daemon.mark;
      const cookie = join(folders[2]!, `zz-cookie-${batch}`);
      mkdirSync(join(cookie, '.hg'), { recursive: true });
      log.push(`repository ${cookie}`);
      await daemon.waitFor((l) => isReload(l) && readPublished(join(base, 'state')).some((r) => r.path === cookie), `the cookie of batch ${batch} (seed ${seed})`, { from });
      const published = readPublished(join(base, 'state'));
      const hgweb = runOracle(config, { cwd: base });
      assert.ok('repos' in hgweb, `hgwebdir failed (seed ${seed}): ${JSON.stringify(hgweb)}`);
      assert.deepEqual(published, hgweb.repos, `batch ${batch}, seed ${seed}; operations so far:\n${log.join('\n')}`);
    }
  });
});
