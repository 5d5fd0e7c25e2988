/**
 * The served list as a value, and a change to it as a value.
 *
 * A ServedList is never changed once made (its array is frozen): the model
 * makes a new one for each change, so that what the daemon last published,
 * what the reloader holds and what the model has now can each be kept and
 * compared without one of them moving under the others. A ListChange says
 * which list it applies to (`before`, by identity), what it makes (`after`)
 * and the splices between them: what the journal carries.
 *
 * The digest sees order: it sums a hash of each pair of neighbours (with a
 * start and an end mark), so a change of order alone changes it, and a splice
 * updates it at the cost of the entries it touches and their two neighbours.
 * It is kept across restarts (state.json): a restart reloads when the list
 * changed while the daemon was down, order included.
 */
import type { ServedRepo } from '../discovery/served-repos.js';
import { applySplice, minimalSplice, spliced, type Splice } from './splice.js';

export interface ServedList {
  readonly repos: readonly ServedRepo[];
  readonly digest: string;
}

export interface ListChange {
  /** The list this change applies to (the same object, not an equal one). */
  readonly before: ServedList;
  readonly after: ServedList;
  /** In order, each on the list the ones before it made. Empty: nothing changed. */
  readonly splices: readonly Splice[];
}

/** The list of `repos` (copied, frozen). O(list). */
export function servedList(repos: readonly ServedRepo[]): ServedList {
  let sums: Sums = [repos.length, 0, 0];
  for (let i = 0; i <= repos.length; i++) sums = addPair(sums, repos[i - 1], repos[i], 1);
  return Object.freeze({ repos: Object.freeze(repos.slice()), digest: format(sums) });
}

export const EMPTY_LIST: ServedList = servedList([]);

/**
 * `before` with `splices` applied, as a new list. Makes the array once, with
 * the first splice in place (O(list), a few milliseconds at a million
 * entries: a copy then a splice moved the tail twice); the digest costs what
 * the splices touch. Throws when a splice does not fit the list, or would
 * remove other entries than the list holds there.
 */
export function applyChange(before: ServedList, splices: readonly Splice[]): ListChange {
  if (splices.length === 0) return { before, after: before, splices };
  let repos: ServedRepo[] | undefined;
  let sums = parse(before.digest);
  for (const s of splices) {
    const list = repos ?? before.repos;
    if (s.at < 0 || s.at + s.removed.length > list.length) throw new RangeError(`splice at ${s.at} removing ${s.removed.length} does not fit a list of ${list.length}`);
    s.removed.forEach((r, i) => {
      const held = list[s.at + i]!;
      if (held.name !== r.name || held.path !== r.path) throw new RangeError(`splice at ${s.at} removes ${r.name} where the list holds ${held.name}`);
    });
    const prev = list[s.at - 1];
    const next = list[s.at + s.removed.length];
    sums = chain(sums, prev, s.removed, next, -1);
    sums = chain(sums, prev, s.inserted, next, 1);
    sums[0] += s.inserted.length - s.removed.length;
    if (repos === undefined) repos = spliced(list, s);
    else applySplice(repos, s);
  }
  return { before, after: Object.freeze({ repos: Object.freeze(repos!), digest: format(sums) }), splices };
}

/** The change from `before` to `after` as one minimal splice (O(list): for full walks). */
export function changeBetween(before: ServedList, after: ServedList): ListChange {
  const splice = minimalSplice(before.repos, 0, before.repos.length, after.repos);
  return { before, after, splices: splice === undefined ? [] : [splice] };
}

/** `first` then `second`, which must start where `first` ends. */
export function compose(first: ListChange, second: ListChange): ListChange {
  if (second.before !== first.after) throw new Error('a change composed with one that does not start where it ends');
  if (second.splices.length === 0) return first;
  if (first.splices.length === 0) return second;
  return { before: first.before, after: second.after, splices: [...first.splices, ...second.splices] };
}

/** A change that leaves `list` as it is. */
export function noChange(list: ServedList): ListChange {
  return { before: list, after: list, splices: [] };
}

type Sums = [count: number, a: number, b: number];

/** Adds (sign 1) or takes away (-1) the pairs of the chain prev, ...middle, next. */
function chain(sums: Sums, prev: ServedRepo | undefined, middle: readonly ServedRepo[], next: ServedRepo | undefined, sign: 1 | -1): Sums {
  let left = prev;
  for (const r of middle) {
    sums = addPair(sums, left, r, sign);
    left = r;
  }
  return addPair(sums, left, next, sign);
}

/** undefined on the left is the start of the list, on the right its end. */
function addPair([count, a, b]: Sums, left: ServedRepo | undefined, right: ServedRepo | undefined, sign: 1 | -1): Sums {
  const text = `${left === undefined ? '\u0002' : `${left.name}\0${left.path}`}\u0001${right === undefined ? '\u0003' : `${right.name}\0${right.path}`}`;
  return [count, (a + sign * fnv(text, 0x811c9dc5)) >>> 0, (b + sign * fnv(text, 0x01000193)) >>> 0];
}

function fnv(text: string, basis: number): number {
  let h = basis;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** 'v2:' marks the order-aware digest: a state file from before it never matches, so the first start after an upgrade publishes once. */
function format([count, a, b]: Sums): string {
  return `v2:${count}:${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}`;
}

function parse(digest: string): Sums {
  const [, count, hex = ''] = digest.split(':');
  return [Number(count), parseInt(hex.slice(0, 8), 16) || 0, parseInt(hex.slice(8), 16) || 0];
}
