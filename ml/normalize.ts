import type { RawFeatures } from '../src/lib/contracts/model';

/**
 * The bucket for categories too rare in training to learn from, and for values never seen in
 * training. Parenthesised so it does not collide with a real value spelled "other" (Olist's
 * `origin` has one, with 150 rows).
 */
export const OTHER_CATEGORY = '(other)';

/** A numeric feature's training statistics. */
export interface NumericSpec {
  name: string;
  mean: number;
  /** Population std over training rows where present; 1 when that is 0 (a constant column). */
  std: number;
  /** Whether a `missing:<name>` indicator column follows the value column. */
  hasMissingIndicator: boolean;
  /**
   * The training range. Values outside it are clamped to it when encoding: a model has learned
   * nothing about a lead quiet for 84 days when training saw at most ten, and a linear model
   * would extrapolate its weights far past anything it was checked on. (Absent in specs saved
   * before it existed: no clamping then.)
   */
  min?: number;
  max?: number;
}

/** A categorical feature's vocabulary: kept values, sorted, then OTHER_CATEGORY last. */
export interface CategoricalSpec {
  name: string;
  values: string[];
}

/**
 * Everything needed to turn RawFeatures into the model's input, fitted on the training split
 * only and JSON-serialisable so it travels in meta.json beside the weights.
 */
export interface FeatureSpec {
  version: 1;
  minCount: number;
  numeric: NumericSpec[];
  categorical: CategoricalSpec[];
  /**
   * One name per encoded column, in encoding order: `num:<name>` (standardised value),
   * `missing:<name>` (1 when the value was absent), `cat:<name>=<value>` (one-hot).
   */
  columns: string[];
  width: number;
}

const isPresent = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Fits the encoding on training rows. Categories seen fewer than `minCount` times (default 10, as
 * the reference results on the public datasets) fold into OTHER_CATEGORY: a one-hot column
 * learned from a handful of rows is noise. A blank or absent category is the category ''.
 * A missing numeric is imputed with the training mean, and gets an indicator column when at
 * least `minCount` training rows lacked it: whether a value is missing is often a signal of
 * its own (a lead who never visited has no visit count), and the mean alone would hide it.
 */
export function fitFeatureSpec(rows: RawFeatures[], opts: { minCount?: number } = {}): FeatureSpec {
  const minCount = opts.minCount ?? 10;
  const numericNames = new Set<string>();
  const categoricalNames = new Set<string>();
  for (const r of rows) {
    for (const k of Object.keys(r.numeric)) numericNames.add(k);
    for (const k of Object.keys(r.categorical)) categoricalNames.add(k);
  }
  const numeric = [...numericNames].sort().map((name): NumericSpec => {
    let n = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const r of rows) {
      const v = r.numeric[name];
      if (isPresent(v)) {
        n++;
        sum += v;
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
    const mean = n > 0 ? sum / n : 0;
    let ss = 0;
    for (const r of rows) {
      const v = r.numeric[name];
      if (isPresent(v)) ss += (v - mean) ** 2;
    }
    const std = n > 0 ? Math.sqrt(ss / n) : 0;
    return { name, mean, std: std > 0 ? std : 1, hasMissingIndicator: rows.length - n >= minCount, ...(n > 0 ? { min, max } : {}) };
  });
  const categorical = [...categoricalNames].sort().map((name): CategoricalSpec => {
    const counts = new Map<string, number>();
    for (const r of rows) {
      const v = r.categorical[name] ?? '';
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    const kept = [...counts].filter(([v, c]) => c >= minCount && v !== OTHER_CATEGORY).map(([v]) => v);
    return { name, values: [...kept.sort(), OTHER_CATEGORY] };
  });
  const columns: string[] = [];
  for (const f of numeric) {
    columns.push(`num:${f.name}`);
    if (f.hasMissingIndicator) columns.push(`missing:${f.name}`);
  }
  for (const f of categorical) for (const v of f.values) columns.push(`cat:${f.name}=${v}`);
  return { version: 1, minCount, numeric, categorical, columns, width: columns.length };
}

/**
 * Encodes rows as a row-major `rows.length × spec.width` matrix. Features the spec does not know
 * are ignored; unseen categories land in OTHER_CATEGORY; missing numerics become the training
 * mean (0 after standardisation); numerics outside the training range are clamped to it.
 */
export function encode(spec: FeatureSpec, rows: RawFeatures[]): Float32Array {
  const out = new Float32Array(rows.length * spec.width);
  // Column offsets and category → offset maps, built once rather than per row.
  const numericAt: number[] = [];
  let col = 0;
  for (const f of spec.numeric) {
    numericAt.push(col);
    col += f.hasMissingIndicator ? 2 : 1;
  }
  const categoryAt = spec.categorical.map((f) => {
    const start = col;
    col += f.values.length;
    return new Map(f.values.map((v, i) => [v, start + i]));
  });
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as RawFeatures;
    const base = r * spec.width;
    spec.numeric.forEach((f, i) => {
      const at = base + (numericAt[i] as number);
      const v = row.numeric[f.name];
      if (isPresent(v)) out[at] = (Math.min(f.max ?? v, Math.max(f.min ?? v, v)) - f.mean) / f.std;
      else if (f.hasMissingIndicator) out[at + 1] = 1;
    });
    spec.categorical.forEach((f, i) => {
      const map = categoryAt[i] as Map<string, number>;
      const at = map.get(row.categorical[f.name] ?? '') ?? (map.get(OTHER_CATEGORY) as number);
      out[base + at] = 1;
    });
  }
  return out;
}
