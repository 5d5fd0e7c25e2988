/**
 * Parity with bind mounts. hgweb tells folders apart by (device, inode), so a
 * folder mounted a second time is "already seen" like a symlink's target.
 * hgreload avoids a stat per folder by mapping resolved paths through the
 * mount table instead; these cases check that mapping against hgweb.
 * Mounting needs privileges: without them every case is skipped, saying why.
 */
import { after, before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { assertParity } from '../helpers/parity.js';
import { makeTempDir } from '../helpers/run.js';
import { TreeBuilder } from '../helpers/tree.js';

describe('parity: bind mounts', () => {
  let temp: { path: string; remove: () => void };
  let tree: TreeBuilder;
  let base: string;
  /** Mount points made by this file, innermost last: unmounted in reverse order. */
  const mounted: string[] = [];
  let cannotMount: string | undefined;

  const mount = (args: readonly string[], target: string): void => {
    const r = spawnSync('mount', [...args, tree.abs(target)], { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`mount ${args.join(' ')} ${target}: ${r.error?.message ?? r.stderr.trim()}`);
    mounted.push(tree.abs(target));
  };

  before(() => {
    temp = makeTempDir('hgreload-parity-mounts-');
    base = temp.path;
    tree = new TreeBuilder(base);
    tree.repo('root/m/r', 'root/a/x', 'root/plain/p').dir('root/b-bind-of-m', 'root/z-bind-of-m', 'root/sub/up', 'root/with space', 'root/t');
    tree.repo('root/ü-inner-target-holder');
    try {
      // The same folder under a name sorting before and one sorting after its real name.
      mount(['--bind', tree.abs('root/m')], 'root/b-bind-of-m');
      mount(['--bind', tree.abs('root/m')], 'root/z-bind-of-m');
      // The root mounted inside itself: a loop that only (device, inode) can see.
      mount(['--bind', tree.abs('root')], 'root/sub/up');
      // A mount point whose name mountinfo escapes (\040): a second name for root/a, met after it.
      mount(['--bind', tree.abs('root/a')], 'root/with space');
      // Another file system, and a sub-folder of it mounted a second time elsewhere.
      mount(['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs'], 'root/t');
      tree.repo('root/t/tr', 'root/t/inner/ir');
      tree.dir('root/ü-inner');
      mount(['--bind', tree.abs('root/t/inner')], 'root/ü-inner');
    } catch (err) {
      cannotMount = (err as Error).message;
    }
  });

  after(() => {
    for (const point of mounted.reverse()) {
      const r = spawnSync('umount', [point], { encoding: 'utf8' });
      // Removing the tree through a mount that is still there would delete what is mounted.
      if (r.status !== 0) throw new Error(`umount ${point} failed, ${base} left in place: ${r.stderr}`);
    }
    temp.remove();
  });

  it('treats a second mount of a folder like a second name for it (*)', async (t) => {
    if (cannotMount !== undefined) return t.skip(`cannot mount here: ${cannotMount}`);
    const config = tree.config('star.config', ['[paths]', `/ = ${base}/root/*`]);
    await assertParity(config, {
      cwd: base,
      expect: {
        serves: ['a/x', 'b-bind-of-m/r', 't/tr', 'ü-inner/ir'],
        omits: ['m/r', 'z-bind-of-m/r', 'with space/x', 't/inner/ir', 'sub/up/a/x'],
      },
    });
  });

  it('treats a second mount of a folder like a second name for it (**) and in [collections]', async (t) => {
    if (cannotMount !== undefined) return t.skip(`cannot mount here: ${cannotMount}`);
    const config = tree.config('starstar.config', ['[paths]', `/ = ${base}/root/**`, '[collections]', 'root = root']);
    await assertParity(config, { cwd: base, expect: { serves: ['b-bind-of-m/r'] } });
  });
});
