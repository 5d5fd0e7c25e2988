/** Names as bytes: the same decoding as Python's os.fsdecode (surrogateescape), and back. */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { compareNames, decodeName, encodeName, fsPath } from '../../src/discovery/fs-names.js';
import { SYSTEM_PYTHON } from '../helpers/run.js';

// Valid UTF-8, Latin-1 bytes, truncated and overlong sequences, encoded surrogates, bytes past U+10FFFF.
const SAMPLES = ['6361666520', '636166e9', 'ff', 'e282', 'e28241', 'c0af', 'eda080', 'f4908080', 'f09f9880', 'c3a9e9c3', '80bf', 'efbfbd'].map((h) =>
  Buffer.from(h, 'hex'),
);

describe('fs-names', () => {
  let python: string[] = [];
  before(() => {
    const script = 'import json,os,sys\nprint(json.dumps([os.fsdecode(bytes.fromhex(h)) for h in json.load(sys.stdin)]))';
    const r = spawnSync(SYSTEM_PYTHON, ['-c', script], { input: JSON.stringify(SAMPLES.map((b) => b.toString('hex'))), encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    python = JSON.parse(r.stdout) as string[];
  });

  for (const [i, bytes] of SAMPLES.entries()) {
    it(`decodes ${bytes.toString('hex')} as Python does, and encodes it back`, () => {
      assert.equal(decodeName(bytes), python[i]);
      assert.deepEqual(encodeName(decodeName(bytes)), bytes);
    });
  }

  it('hands plain names to fs as strings and escaped ones as bytes', () => {
    assert.equal(fsPath('/srv/ünï'), '/srv/ünï');
    assert.deepEqual(fsPath('/srv/caf\udce9'), Buffer.from('/srv/caf\xe9', 'latin1'));
  });

  it('orders names bytewise', () => {
    const names = ['\uFF61', '\u{1F600}', 'caf\udce9', 'café', 'Z', 'a', 'x\udcff'];
    const byBytes = [...names].sort((a, b) => Buffer.compare(encodeName(a), encodeName(b)));
    assert.deepEqual([...names].sort(compareNames), byBytes);
    assert.deepEqual(byBytes, ['Z', 'a', 'café', 'caf\udce9', 'x\udcff', '\uFF61', '\u{1F600}']);
  });
});
