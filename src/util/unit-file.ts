/**
 * A systemd unit file read the way systemd reads it: sections, `Key=Value`,
 * `#`/`;` comments, a backslash at the end of a line continuing it, a later
 * assignment winning, and an empty one resetting a list.
 */
import { readdirSync, readFileSync } from 'node:fs';

export type UnitFile = ReadonlyMap<string, ReadonlyArray<readonly [string, string]>>;

/** Throws on a line that is none of the above (the unit is not one systemd would read as written). */
export function parseUnit(text: string): UnitFile {
  const sections = new Map<string, Array<[string, string]>>();
  let current: Array<[string, string]> | undefined;
  for (const raw of text.replace(/\\\n/g, ' ').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = sections.get(section[1]!) ?? [];
      sections.set(section[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current === undefined || eq < 0) throw new Error(`not a unit file line: ${raw}`);
    current.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return sections;
}

/** A unit and its drop-ins (FILE.d/*.conf, in name order), read as one; files that cannot be read are left out. */
export function readUnit(file: string): UnitFile {
  let dropIns: string[] = [];
  try {
    dropIns = readdirSync(`${file}.d`).filter((f) => f.endsWith('.conf')).sort().map((f) => `${file}.d/${f}`);
  } catch {
    // no drop-ins
  }
  const texts: string[] = [];
  for (const f of [file, ...dropIns]) {
    try {
      texts.push(readFileSync(f, 'utf8'));
    } catch {
      // not installed (or not ours to read)
    }
  }
  return parseUnit(texts.join('\n'));
}

/** The last value of `key` in `section`. */
export function unitValue(unit: UnitFile, section: string, key: string): string | undefined {
  return unit.get(section)?.filter(([k]) => k === key).at(-1)?.[1];
}

/** Every value of a list `key`, space-separated values and repeated assignments together. */
export function unitList(unit: UnitFile, section: string, key: string): string[] {
  const out: string[] = [];
  for (const [k, v] of unit.get(section) ?? []) {
    if (k !== key) continue;
    if (v === '') out.length = 0;
    else out.push(...v.split(/\s+/));
  }
  return out;
}
