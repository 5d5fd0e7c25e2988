/**
 * `npm start`: the daemon on a ready-made demo, so that a newcomer sees it work
 * in a minute. Makes (once) a folder of repositories with its own hgweb.config,
 * settings and WSGI script, then runs `hgreload daemon` on it in the foreground.
 *
 * Usage: node dist/scripts/demo.js [FOLDER]   (default: demo/ in the project, which git ignores)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { main } from '../src/cli/main.js';
import { renderWsgi } from '../src/cli/commands/wsgi.js';
import { PUBLISHED_FILE } from '../src/reload/publish.js';
import { projectFile } from '../src/util/project-files.js';

const folder = resolve(process.argv[2] ?? projectFile('demo'));
const repos = join(folder, 'repos');

function makeRepo(path: string): void {
  if (existsSync(path)) return;
  mkdirSync(path, { recursive: true });
  // A real repository where Mercurial is installed; to hgweb an empty .hg is one too.
  const hg = spawnSync('hg', ['init', path], { stdio: 'ignore' });
  if (hg.error !== undefined || hg.status !== 0) mkdirSync(join(path, '.hg'), { recursive: true });
}

makeRepo(join(repos, 'hello'));
makeRepo(join(repos, 'team/tools'));
const config = join(folder, 'hgweb.config');
const ini = join(folder, 'hgreload.ini');
writeFileSync(config, `[web]\n# hgreload tells hgweb about changes; its own polling can be rare.\nrefreshinterval = 86400\n\n[paths]\n/ = ${repos}/**\n`);
writeFileSync(ini, 'webconf = hgweb.config\n\n[reload]\nmethod = publish\nstate = state\ndebounce = 200\n');
// A .py name so that gunicorn can import it too; mod_wsgi takes any name.
writeFileSync(join(folder, 'hgweb_app.py'), renderWsgi(config, join(folder, 'state', PUBLISHED_FILE)));

const here = (p: string) => relative(process.cwd(), p) || '.';
const cli = `node ${here(projectFile('dist/src/cli/bin.js'))} -c ${here(ini)}`;
process.stderr.write(`hgreload demo: watching ${here(repos)} for hgweb.config ${here(config)}; the log follows (JSON lines).
In another terminal, from this folder:
  hg init ${here(repos)}/new-repo     a "reloaded" line names it within a second
  rm -rf ${here(repos)}/new-repo      and its removal
  ${cli} status
  ${cli} list
  tr '\\0' '\\n' < ${here(folder)}/state/${PUBLISHED_FILE}    the list hgweb gets through ${here(folder)}/hgweb_app.py (name, path, ...)
  gunicorn --chdir ${here(folder)} --bind 127.0.0.1:8000 --workers 2 --threads 4 hgweb_app:application
                                     then http://127.0.0.1:8000/ follows every change, no restart
Stop with Ctrl-C.
`);
process.exitCode = await main(['-c', ini, 'daemon']);
