/**
 * The hook line each repository's hgrc gets: a shell hook running
 * hooks/hgreload_hook.py from hgreload's own package (root's to write when
 * installed with `npm install -g`) with Debian's python3, the control socket
 * its one argument. Why a shell hook and not `python:`: see the module itself.
 */
import { projectFile } from '../util/project-files.js';

export const HOOK_PROGRAM = 'hooks/hgreload_hook.py';
/** The python3 Debian's Mercurial runs on; `-I -S` keep the pusher's environment out. */
export const HOOK_PYTHON = ['/usr/bin/python3', '-IS'] as const;

/** Where the hook program is: in the package, never in the daemon's writable state folder. */
export function hookProgram(): string {
  return projectFile(HOOK_PROGRAM);
}

export function hookValue(socket: string, program = hookProgram()): string {
  return [...HOOK_PYTHON, program, socket].map(shellQuote).join(' ');
}

/** Mercurial hands the hook line to /bin/sh: a path with spaces or quotes must reach it as one word. */
export function shellQuote(word: string): string {
  return /^[\w/.,:@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
