/**
 * A strict reader of the Prometheus text exposition format 0.0.4, for tests: it throws on the
 * first line that breaks the grammar or the format's rules, naming the line. Checked: every line
 * is `# HELP`, `# TYPE` or a sample (no blank lines, no other comments); metric and label names;
 * label values with only `\\`, `\"` and `\n` escapes; values in Go float syntax; HELP and TYPE
 * at most once per metric and before its samples; a metric's samples contiguous, each series
 * once; counter names
 * ending in `_total` with non-negative values; histogram samples `_bucket` (with `le`), `_sum`
 * and `_count`, per label set buckets in increasing `le`, cumulative counts non-decreasing, the
 * last `le="+Inf"` and equal to `_count`.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string | undefined;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
const VALUE = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|[+-]Inf|NaN)$/;
const HELP_LINE = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL_PAIR = new RegExp(`^(${LABEL})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`);

function parseValue(text: string, where: string): number {
  if (!VALUE.test(text)) throw new Error(`${where}: "${text}" is not a sample value`);
  return text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text);
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const match = LABEL_PAIR.exec(rest);
    if (match === null) throw new Error(`${where}: bad label pair at "${rest}"`);
    const [whole, name, escaped] = match as unknown as [string, string, string];
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    labels[name] = escaped.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(whole.length);
    if (rest.startsWith(',')) {
      rest = rest.slice(1);
      if (rest.length === 0) throw new Error(`${where}: trailing comma in labels`);
    } else if (rest.length > 0) throw new Error(`${where}: expected "," after label ${name}`);
  }
  return labels;
}

/** The family a sample name belongs to: a histogram's `_bucket`/`_sum`/`_count` to its base name. */
function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const base = families.get(sample.slice(0, -suffix.length));
    if (base?.type === 'histogram') return base;
  }
  return families.get(sample);
}

function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = { buckets: [] }));
    if (s.name === `${family.name}_bucket`) {
      if (le === undefined) throw new Error(`${family.name}: a bucket without le`);
      group.buckets.push([parseValue(le, `${family.name} le`), s.value]);
    } else if (s.name === `${family.name}_sum`) group.sum = s.value;
    else if (s.name === `${family.name}_count`) group.count = s.value;
    else throw new Error(`${family.name}: sample ${s.name} does not belong to a histogram`);
  }
  for (const [key, g] of groups) {
    const where = `${family.name}${key}`;
    if (g.sum === undefined || g.count === undefined) throw new Error(`${where}: _sum and _count are required`);
    if (g.buckets.length === 0) throw new Error(`${where}: no buckets`);
    g.buckets.forEach(([le, count], i) => {
      const previous = g.buckets[i - 1];
      if (previous !== undefined && !(le > previous[0])) throw new Error(`${where}: le ${le} after ${previous[0]}`);
      if (previous !== undefined && count < previous[1]) throw new Error(`${where}: bucket counts go down at le ${le}`);
    });
    const last = g.buckets.at(-1) as [number, number];
    if (last[0] !== Infinity) throw new Error(`${where}: the last bucket is not le="+Inf"`);
    if (last[1] !== g.count) throw new Error(`${where}: le="+Inf" ${last[1]} differs from _count ${g.count}`);
  }
}

export function parseExposition(text: string): Family[] {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const seen = new Set<string>();
  let current: Family | undefined;
  const lines = text.length === 0 ? [] : text.slice(0, -1).split('\n');
  lines.forEach((line, index) => {
    const where = `line ${index + 1} "${line}"`;
    const help = HELP_LINE.exec(line);
    const type = TYPE_LINE.exec(line);
    const sample = help === null && type === null ? SAMPLE_LINE.exec(line) : null;
    if (help === null && type === null && sample === null) throw new Error(`${where}: not a HELP, TYPE or sample line`);
    const name = ((help ?? type ?? sample) as RegExpExecArray)[1] as string;
    let family = sample === null ? families.get(name) : familyOf(name, families);
    if (family === undefined) {
      if (sample !== null) throw new Error(`${where}: a sample before its metric's TYPE line`);
      families.set(name, (family = { name, type: 'untyped', help: undefined, samples: [] }));
    }
    if (family !== current) {
      if (current !== undefined) closed.add(current.name);
      if (closed.has(family.name)) throw new Error(`${where}: ${family.name} continues after another metric`);
      current = family;
    }
    if (help !== null) {
      if (family.help !== undefined) throw new Error(`${where}: a second HELP for ${name}`);
      if (family.samples.length > 0) throw new Error(`${where}: HELP after samples`);
      family.help = help[2];
    } else if (type !== null) {
      if (family.type !== 'untyped' || family.samples.length > 0) throw new Error(`${where}: TYPE twice or after samples`);
      family.type = type[2] as Family['type'];
      if (family.type === 'counter' && !name.endsWith('_total')) throw new Error(`${where}: counter ${name} does not end in _total`);
    } else {
      const [, sampleName, labelText, valueText] = sample as unknown as [string, string, string | undefined, string];
      const s = { name: sampleName, labels: parseLabels(labelText ?? '', where), value: parseValue(valueText, where) };
      if (family.type !== 'histogram' && sampleName !== family.name) throw new Error(`${where}: sample name differs from its metric`);
      if (family.type === 'counter' && !(s.value >= 0)) throw new Error(`${where}: a counter below 0`);
      const series = `${sampleName}${JSON.stringify(Object.entries(s.labels).sort())}`;
      if (seen.has(series)) throw new Error(`${where}: the same series twice`);
      seen.add(series);
      family.samples.push(s);
    }
  });
  const all = [...families.values()];
  for (const family of all) if (family.type === 'histogram') checkHistogram(family);
  return all;
}
