/**
 * The text of `[cluster] database`, split into keyword/value pairs the way
 * libpq splits a connection string (fe-connect.c: conninfo_parse and
 * conninfo_uri_parse_options), with its error messages: a `postgresql://` or
 * `postgres://` URI, or `key=value` pairs. A bare word is hgreload's own
 * shorthand for `service=WORD`. Which keywords exist is not decided here.
 */
import { settingError } from './conninfo-source.js';

/** In order of appearance: a later pair for the same keyword wins, as in libpq. */
export type Pairs = Array<readonly [keyword: string, value: string]>;

export function parseConnectionString(text: string): Pairs {
  const prefix = /^postgres(ql)?:\/\//.exec(text)?.[0].length;
  if (prefix !== undefined) return parseUri(text, prefix);
  if (!text.includes('=') && /^\S+$/.test(text.trim())) return [['service', text.trim()]];
  return parseKeywords(text);
}

/** C's isspace() in the C locale: libpq splits on exactly these. */
const isSpace = (c: string | undefined): boolean => c !== undefined && ' \t\n\v\f\r'.includes(c);

function parseKeywords(text: string): Pairs {
  const pairs: Pairs = [];
  let i = 0;
  while (i < text.length) {
    if (isSpace(text[i])) {
      i++;
      continue;
    }
    const start = i;
    while (i < text.length && text[i] !== '=' && !isSpace(text[i])) i++;
    const keyword = text.slice(start, i);
    while (isSpace(text[i])) i++;
    if (text[i] !== '=') throw settingError(`missing "=" after "${keyword}"`, "write keyword=value pairs, a postgresql:// URI, or a service name alone");
    i++;
    while (isSpace(text[i])) i++;
    let value = '';
    if (text[i] === "'") {
      i++;
      for (;;) {
        if (i >= text.length) throw settingError('unterminated quoted string', "close the value's single quote; write \\' for a quote inside it");
        const c = text[i++]!;
        if (c === "'") break;
        // A backslash takes the next character as it is: \' and \\ are the useful ones.
        if (c === '\\') {
          if (i < text.length) value += text[i++];
        } else {
          value += c;
        }
      }
    } else {
      while (i < text.length && !isSpace(text[i])) {
        const c = text[i++]!;
        if (c === '\\') {
          if (i < text.length) value += text[i++];
        } else {
          value += c;
        }
      }
    }
    pairs.push([keyword, value]);
  }
  return pairs;
}

/** postgresql://[user[:password]@][host][:port][,...][/dbname][?keyword=value&...] */
function parseUri(text: string, prefix: number): Pairs {
  const pairs: Pairs = [];
  const n = text.length;
  let p = prefix;
  while (p < n && text[p] !== '@' && text[p] !== '/') p++;
  if (text[p] === '@') {
    let q = prefix;
    while (text[q] !== ':' && text[q] !== '@') q++;
    const user = text.slice(prefix, q);
    if (user !== '') pairs.push(['user', decode(user)]);
    const password = text[q] === ':' ? text.slice(q + 1, p) : '';
    if (password !== '') pairs.push(['password', decode(password)]);
    p++;
  } else {
    p = prefix;
  }

  // Several host[:port] separated by commas are kept as libpq keeps them, "a,b": refused later.
  let hosts = '';
  let ports = '';
  let stop: string | undefined;
  for (;;) {
    let host: string;
    if (text[p] === '[') {
      const close = text.indexOf(']', p + 1);
      if (close < 0) throw settingError('end of string reached when looking for matching "]" in IPv6 host address in URI');
      if (close === p + 1) throw settingError('IPv6 host address may not be empty in URI');
      host = text.slice(p + 1, close);
      p = close + 1;
      if (p < n && !':/?,'.includes(text[p]!)) throw settingError(`unexpected character "${text[p]}" at position ${p + 1} in URI (expected ":" or "/")`);
    } else {
      const start = p;
      while (p < n && !':/?,'.includes(text[p]!)) p++;
      host = text.slice(start, p);
    }
    hosts += host;
    stop = text[p];
    if (stop === ':') {
      const start = ++p;
      while (p < n && !'/?,'.includes(text[p]!)) p++;
      ports += text.slice(start, p);
      stop = text[p];
    }
    if (stop !== ',') break;
    p++;
    hosts += ',';
    ports += ',';
  }
  if (hosts !== '') pairs.push(['host', decode(hosts)]);
  if (ports !== '') pairs.push(['port', decode(ports)]);

  if (stop !== undefined && stop !== '?') {
    const start = ++p;
    while (p < n && text[p] !== '?') p++;
    // An empty path leaves dbname to its default ($PGDATABASE, then the user name).
    if (p > start) pairs.push(['dbname', decode(text.slice(start, p))]);
    stop = text[p];
  }
  if (stop !== undefined) pairs.push(...parseQuery(text.slice(p + 1)));
  return pairs;
}

function parseQuery(query: string): Pairs {
  const pairs: Pairs = [];
  const parts = query.split('&');
  // libpq stops at the end of the text: one trailing "&" (or "?" alone) ends the query, an empty pair before it does not.
  if (parts.at(-1) === '') parts.pop();
  for (const part of parts) {
    const [keyword = '', ...values] = part.split('=');
    if (values.length === 0) throw settingError(`missing key/value separator "=" in URI query parameter: "${keyword}"`);
    if (values.length > 1) throw settingError(`extra key/value separator "=" in URI query parameter: "${keyword}"`);
    const [k, v] = [decode(keyword), decode(values[0]!)];
    // libpq's nod to JDBC.
    pairs.push(k === 'ssl' && v === 'true' ? ['sslmode', 'require'] : [k, v]);
  }
  return pairs;
}

/** Percent-decoding to UTF-8 bytes; libpq refuses a bad triplet and %00. */
function decode(part: string): string {
  const bytes: Buffer[] = [];
  let i = 0;
  while (i < part.length) {
    const percent = part.indexOf('%', i);
    const end = percent < 0 ? part.length : percent;
    bytes.push(Buffer.from(part.slice(i, end), 'utf8'));
    if (percent < 0) break;
    const hex = part.slice(percent + 1, percent + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw settingError(`invalid percent-encoded token: "${part}"`);
    if (hex === '00') throw settingError(`forbidden value %00 in percent-encoded value: "${part}"`);
    bytes.push(Buffer.from([parseInt(hex, 16)]));
    i = percent + 3;
  }
  return Buffer.concat(bytes).toString('utf8');
}
