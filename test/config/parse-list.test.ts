/** List values split exactly as Mercurial's stringutil.parselist splits them. */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseList } from '../../src/config/parse-list.js';
import { askMercurial, asBytes } from '../helpers/oracle-config.js';

const VALUES = [
  '',
  '   ',
  ',,,',
  'a',
  'a b c',
  'a,b,,c',
  ' , a , b , ',
  '/srv/a/*, /srv/b/*',
  '/srv/a/*\n/srv/b/**',
  '\n/srv/a/*\n/srv/b/*',
  'a\tb\x0bc\x0cd\re',
  '"/srv/with space/*"',
  '"/a b"/*',
  '"a b" c',
  '"a b",c',
  'x "a b" y',
  '""',
  'q "" r',
  '"unterminated /a b',
  '"',
  '"a\\"b"',
  'a\\"b',
  'a"b',
  '"a b""',
  '"a b" "',
  '"a, b" ,, "c d"',
  'ünïcödé/répo/*',
  'a\u00a0b',
];

describe('parseList (Mercurial list values)', () => {
  let expected: string[][] = [];
  before(() => {
    expected = askMercurial(VALUES.map((v) => ({ list: asBytes(v) }))) as string[][];
  });
  for (const [i, value] of VALUES.entries()) {
    it(JSON.stringify(value), () => {
      assert.deepEqual(parseList(value).map(asBytes), expected[i]);
    });
  }
});
