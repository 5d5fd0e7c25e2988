/**
 * Splits a `command = ...` setting into argv without a shell: words separated
 * by whitespace, '...' and "..." group words, a backslash escapes the next
 * character. Nothing is expanded, so no value can reach a shell.
 */
import { HgreloadError } from '../errors.js';

export function splitArgv(command: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < command.length) word += command[++i]!;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < command.length) {
      word = (word ?? '') + command[++i]!;
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote !== undefined) {
    throw new HgreloadError('settings', `unterminated ${quote} quote in reload command: ${command}`, {
      hint: 'close the quote; the command runs without a shell, so quotes only group words',
    });
  }
  if (word !== undefined) words.push(word);
  if (words.length === 0) throw new HgreloadError('settings', 'the reload command is empty');
  return words;
}
