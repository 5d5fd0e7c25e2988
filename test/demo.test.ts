/** `npm start`'s demo: it sets up its folder, runs the daemon, and a new repository shows in the log. */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, isReload } from './helpers/daemon-process.js';
import { makeTempDir, PROJECT_ROOT } from './helpers/run.js';

describe('npm start (the demo)', () => {
  const dir = makeTempDir('hgreload-demo-');
  let demo: DaemonProcess | undefined;
  after(async () => {
    await demo?.stop();
    dir.remove();
  });

  it('runs the daemon on its own repositories and logs a repository made with hg init', async () => {
    demo = new DaemonProcess([dir.path], { script: join(PROJECT_ROOT, 'dist/scripts/demo.js') });
    const ready = await demo.waitFor((l) => l.msg === 'ready', 'ready');
    assert.equal(ready.repositories, 2);
    for (const f of ['hgweb.config', 'hgreload.ini', 'hgweb_app.py']) assert.ok(existsSync(join(dir.path, f)), f);
    assert.ok(demo.output.some((l) => l.includes('hg init')), 'it tells what to try');
    const from = demo.mark;
    assert.equal(spawnSync('hg', ['init', join(dir.path, 'repos/new-repo')]).status, 0);
    await demo.waitFor((l) => isReload(l) && (l.added as string[]).includes('new-repo'), 'reload naming new-repo', { from });
    assert.equal(await demo.stop(), 0);
  });
});
