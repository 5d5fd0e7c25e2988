/**
 * A walk of every root that finds the list as it was keeps the list value the
 * last cycle ended with: the next change goes out as a journal line, not as
 * a whole snapshot that every WSGI process would read again.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSettings } from '../../src/config/settings.js';
import { isReload } from '../helpers/daemon-process.js';
import { inProcessDaemons } from '../helpers/in-process.js';

describe('a walk of every root that changes nothing', () => {
  const { base, log, daemon: make } = inProcessDaemons('hgreload-walk-journal-');

  it('leaves the next change a journal line', async () => {
    mkdirSync(join(base, 'root/first/.hg'), { recursive: true });
    writeFileSync(join(base, 'hgweb.config'), `[paths]\n/ = ${base}/root/*\n`);
    const daemon = make(parseSettings('webconf = hgweb.config\n[reload]\nmethod = publish\nstate = state\ndebounce = 20\n', join(base, 'hgreload.ini')));
    await daemon.start();
    const from = log.mark;
    daemon.changed('a walk of every root');
    await log.waitFor((l) => l.msg === 'served list unchanged; no reload' && (l.reasons as string[]).includes('a walk of every root'), 'the walk, unchanged', { from });
    assert.equal(daemon.status().walks, 2);
    mkdirSync(join(base, 'root/second/.hg'), { recursive: true });
    const reload = await log.waitFor((l) => isReload(l) && (l.added as string[]).includes('second'), 'the reload for second', { from });
    assert.match(reload.msg, /^reloaded: published a change \(\+1 -0\) to .*\/served\.journal$/);
    await daemon.close();
  });
});
