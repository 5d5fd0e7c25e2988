/**
 * A push tells the daemon which repository it went into. With the system-wide
 * hook every repository on the host asks, served or not: one outside every
 * served root must cost nothing, not a walk of every root.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSettings } from '../../src/config/settings.js';
import { askDaemon } from '../../src/daemon/control-client.js';
import { socketPath } from '../../src/daemon/control-protocol.js';
import { inProcessDaemons } from '../helpers/in-process.js';

describe('pushes the daemon hears of', () => {
  const { base, log, daemon: make } = inProcessDaemons('hgreload-pushes-');

  it('a push into a repository outside every served root is ignored; one into a served repository is looked at', async () => {
    mkdirSync(join(base, 'root/served/.hg'), { recursive: true });
    mkdirSync(join(base, 'elsewhere/private/.hg'), { recursive: true });
    writeFileSync(join(base, 'hgweb.config'), `[paths]\n/ = ${base}/root/*\n`);
    const settings = parseSettings('webconf = hgweb.config\n[reload]\nmethod = publish\nstate = state\ndebounce = 20\n', join(base, 'hgreload.ini'));
    const daemon = make(settings);
    await daemon.start();
    const from = log.mark;
    const socket = socketPath(join(base, 'state'));
    const outside = join(base, 'elsewhere/private');
    await askDaemon(socket, { command: 'rescan', reason: `push to ${outside}`, path: outside });
    // A push into a served repository after it is the barrier: its cycle comes after anything the first asked for.
    const served = join(base, 'root/served');
    await askDaemon(socket, { command: 'rescan', reason: `push to ${served}`, path: served });
    await log.waitFor((l) => Array.isArray(l.reasons) && (l.reasons as string[]).includes(`push to ${served}`), 'the cycle after the served push', { from });
    const cycles = log.items.slice(from).filter((l) => Array.isArray(l.reasons));
    assert.deepEqual(cycles.flatMap((l) => l.reasons as string[]), [`push to ${served}`], 'no cycle, and no walk, for the push outside');
    assert.ok(log.items.slice(from).some((l) => l.level === 'debug' && l.repo === outside && /outside every served root/.test(l.msg)));
    await daemon.close();
  });
});
