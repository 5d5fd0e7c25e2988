#!/usr/bin/env node
// `npm start`'s first step (plain JavaScript: it runs before anything is
// built): on a fresh clone, where `npm install` was never run, it runs it (which
// also builds), so that `npm start` alone shows the demo. Where the
// dependencies are there already it does nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const project = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
const wanted = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies });
const missing = wanted.filter((name) => !existsSync(join(project, 'node_modules', name, 'package.json')));
if (missing.length > 0) {
  process.stderr.write(`hgreload: ${missing.join(', ')} not installed yet: running npm install first\n`);
  // npm sets npm_execpath to its own CLI for the scripts it runs: the same npm installs.
  const npm = process.env.npm_execpath;
  const run = npm === undefined ? spawnSync('npm', ['install'], { cwd: project, stdio: 'inherit' }) : spawnSync(process.execPath, [npm, 'install'], { cwd: project, stdio: 'inherit' });
  if (run.status !== 0) {
    process.stderr.write('hgreload: npm install failed (see above); run it yourself, then npm start\n');
    process.exit(1);
  }
}
