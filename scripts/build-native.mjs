#!/usr/bin/env node
// `npm install`'s build of hgreload's addon (src/native): one inotify instance
// for every watched folder instead of a Node watcher each (about 1 KB of memory
// per folder), and folder listings in one call each. It needs a C compiler and
// Node's headers; where they are missing the daemon still works, through
// fs.watch and Node's readdir, and says so at start: this warns and lets the
// install go on rather than fail it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const project = join(dirname(fileURLToPath(import.meta.url)), '..');
const folder = join(project, 'src', 'native');
// The headers of the Node that runs this, where its installation has them (Debian's in /usr/include/node,
// a release tarball's in include/node beside bin/): node-gyp would otherwise download them.
const prefix = dirname(dirname(process.execPath));
const headers = process.env.npm_config_nodedir === undefined && existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
const args = ['rebuild', '--directory', folder, ...headers];
// npm puts its own node-gyp on the PATH of the scripts it runs, and names it in npm_config_node_gyp.
const gyp = process.env.npm_config_node_gyp;
const run = gyp === undefined ? spawnSync('node-gyp', args, { stdio: 'inherit' }) : spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' });
if (run.status !== 0) {
  const why = run.error === undefined ? `node-gyp exited with ${run.status ?? run.signal}` : run.error.message;
  process.stderr.write(
    `hgreload: the addon did not build (${why}). The daemon will watch folders through fs.watch instead: ` +
      'about 1 KB of memory per watched folder, and walk them more slowly. Install a C compiler and make (Debian: build-essential), then run npm install again.\n',
  );
}
