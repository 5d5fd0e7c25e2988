/**
 * A strict reader of Prometheus' text format (0.0.4), for what the daemon
 * writes for node_exporter's textfile collector: it throws, naming the line,
 * on anything the format does not allow or the collector refuses (a sample
 * with a timestamp, a family split in two, a sample before its TYPE, an
 * unknown escape in a label value, a histogram whose buckets do not add up).
 * Written here rather than taken from npm: the one parser there
 * (parse-prometheus-text-format) is lenient by design and little maintained,
 * and `promtool check metrics` (tests beside this) is the authority anyway.
 */

export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PromFamily {
  readonly name: string;
  help: string | undefined;
  type: string | undefined;
  readonly samples: PromSample[];
}

export interface PromText {
  readonly families: ReadonlyMap<string, PromFamily>;
  /** The value of the one sample named `name` with exactly `labels`; undefined when there is none. */
  value(name: string, labels?: Readonly<Record<string, string>>): number | undefined;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
const FLOAT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function parsePromText(text: string): PromText {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the text does not end with a line feed');
  const families = new Map<string, PromFamily>();
  const series = new Set<string>();
  let current: PromFamily | undefined;
  const lines = text.split('\n').slice(0, -1);
  const family = (name: string, where: string): PromFamily => {
    if (current?.name === name) return current;
    if (families.has(name)) throw new Error(`${where}: ${name} again, after another family: a family's lines must be together`);
    current = { name, help: undefined, type: undefined, samples: [] };
    families.set(name, current);
    return current;
  };
  lines.forEach((line, i) => {
    const where = `line ${i + 1} (${JSON.stringify(line)})`;
    if (line === '') throw new Error(`${where}: an empty line`);
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta !== null) {
      const [, keyword, name, rest] = meta as unknown as [string, string, string, string];
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: not a metric name`);
      const f = family(name, where);
      if (keyword === 'HELP') {
        if (f.help !== undefined) throw new Error(`${where}: a second HELP`);
        f.help = unescape(rest, false, where);
      } else {
        if (f.type !== undefined) throw new Error(`${where}: a second TYPE`);
        if (f.samples.length > 0) throw new Error(`${where}: TYPE after the family's samples`);
        if (!TYPES.includes(rest)) throw new Error(`${where}: unknown type`);
        f.type = rest;
      }
      return;
    }
    if (line.startsWith('#')) return; // a comment
    const sample = parseSample(line, where);
    const f = family(familyOf(sample.name, current), where);
    if (f.type === undefined) throw new Error(`${where}: a sample before its family's TYPE`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (series.has(key)) throw new Error(`${where}: the same series twice`);
    series.add(key);
    if (f.type === 'counter' && !(sample.value >= 0)) throw new Error(`${where}: a counter below zero`);
    f.samples.push(sample);
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return {
    families,
    value(name, labels = {}) {
      const wanted = JSON.stringify(Object.entries(labels).sort());
      for (const f of families.values()) {
        const found = f.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === wanted);
        if (found !== undefined) return found.value;
      }
      return undefined;
    },
  };
}

/** The family a sample belongs to: its own name, or the histogram or summary it is a part of. */
function familyOf(name: string, current: PromFamily | undefined): string {
  if (current !== undefined && name !== current.name) {
    const suffixes = current.type === 'histogram' ? ['_bucket', '_sum', '_count'] : current.type === 'summary' ? ['_sum', '_count'] : [];
    if (suffixes.some((s) => name === `${current.name}${s}`)) return current.name;
  }
  return name;
}

function parseSample(line: string, where: string): PromSample {
  const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (head === null) throw new Error(`${where}: no metric name`);
  const name = head[1]!;
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    let i = 1;
    while (rest[i] !== '}') {
      const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(rest.slice(i))?.[0];
      if (labelName === undefined || !LABEL_NAME.test(labelName)) throw new Error(`${where}: no label name at column ${name.length + i + 1}`);
      if (labelName in labels) throw new Error(`${where}: label ${labelName} twice`);
      i += labelName.length;
      if (rest.slice(i, i + 2) !== '="') throw new Error(`${where}: no =" after label ${labelName}`);
      i += 2;
      let raw = '';
      while (rest[i] !== '"') {
        if (i >= rest.length) throw new Error(`${where}: label ${labelName}'s value is not closed`);
        if (rest[i] === '\\') raw += rest[i++];
        raw += rest[i++];
      }
      labels[labelName] = unescape(raw, true, where);
      i++;
      if (rest[i] === ',') i++;
      else if (rest[i] !== '}') throw new Error(`${where}: no , or } after label ${labelName}`);
    }
    rest = rest.slice(i + 1);
  }
  const fields = rest.split(' ');
  if (fields[0] !== '' || fields.length !== 2) throw new Error(`${where}: not one space and a value${fields.length > 2 ? ' (a timestamp: the textfile collector refuses those)' : ''}`);
  return { name, labels, value: parseValue(fields[1]!, where) };
}

function parseValue(text: string, where: string): number {
  if (text === 'NaN') return NaN;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!FLOAT.test(text)) throw new Error(`${where}: not a number: ${text}`);
  return Number(text);
}

/** Undoes the format's escapes: `\\` and `\n` everywhere, `\"` in label values; any other escape is an error. */
function unescape(raw: string, labelValue: boolean, where: string): string {
  return raw.replace(/\\(.)?/g, (_, c: string | undefined) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === '"' && labelValue) return '"';
    throw new Error(`${where}: an escape the format does not have: \\${c ?? ''}`);
  });
}

function checkHistogram(f: PromFamily): void {
  const buckets = f.samples.filter((s) => s.name === `${f.name}_bucket`);
  const bounds = buckets.map((s) => {
    if (s.labels.le === undefined) throw new Error(`${f.name}: a bucket without le`);
    return parseValue(s.labels.le, `${f.name} le="${s.labels.le}"`);
  });
  if (bounds.at(-1) !== Infinity) throw new Error(`${f.name}: no +Inf bucket last`);
  bounds.forEach((b, i) => {
    if (i > 0 && !(b > bounds[i - 1]!)) throw new Error(`${f.name}: buckets out of order`);
    if (i > 0 && buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`${f.name}: buckets not cumulative`);
  });
  const count = f.samples.find((s) => s.name === `${f.name}_count`);
  if (count === undefined || f.samples.find((s) => s.name === `${f.name}_sum`) === undefined) throw new Error(`${f.name}: no _sum or _count`);
  if (count.value !== buckets.at(-1)!.value) throw new Error(`${f.name}: _count is not the +Inf bucket`);
}
