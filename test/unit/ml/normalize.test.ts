import { describe, expect, it } from 'vitest';
import type { RawFeatures } from '../../../src/lib/contracts/model';
import { encode, fitFeatureSpec, OTHER_CATEGORY } from '../../../ml/normalize';

const row = (numeric: Record<string, number>, categorical: Record<string, string>): RawFeatures => ({ numeric, categorical });

describe('fitFeatureSpec', () => {
  // visits 1, 3 (mean 2, std 1); source: web ×2, ads ×1, blank ×2; flat is constant.
  const rows = [
    row({ visits: 1, flat: 5 }, { source: 'web' }),
    row({ visits: 3, flat: 5 }, { source: 'web' }),
    row({ flat: 5 }, { source: 'ads' }),
    row({ flat: 5 }, { source: '' }),
    row({ flat: 5 }, {})
  ];
  const spec = fitFeatureSpec(rows, { minCount: 2 });

  it('keeps categories seen minCount times (blank and absent alike), sorted, then the other bucket', () => {
    expect(spec.categorical).toEqual([{ name: 'source', values: ['', 'web', OTHER_CATEGORY] }]);
  });

  it('standardises with the mean and std of present values, std 0 → 1, and adds a missing indicator when enough rows lack the value', () => {
    expect(spec.numeric).toEqual([
      { name: 'flat', mean: 5, std: 1, hasMissingIndicator: false, min: 5, max: 5 },
      { name: 'visits', mean: 2, std: 1, hasMissingIndicator: true, min: 1, max: 3 }
    ]);
  });

  it('names every column in a deterministic order', () => {
    expect(spec.columns).toEqual(['num:flat', 'num:visits', 'missing:visits', 'cat:source=', 'cat:source=web', `cat:source=${OTHER_CATEGORY}`]);
    expect(spec.width).toBe(6);
    const shuffled = fitFeatureSpec([rows[4]!, rows[2]!, rows[0]!, rows[3]!, rows[1]!], { minCount: 2 });
    expect(shuffled).toEqual(spec);
  });

  it('survives a JSON round trip unchanged', () => {
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
  });

  it('defaults minCount to 10 and adds no indicator for a feature never missing', () => {
    const many = Array.from({ length: 12 }, (_, i) => row({ n: i }, { c: i < 10 ? 'common' : `rare${i}` }));
    const s = fitFeatureSpec(many);
    expect(s.minCount).toBe(10);
    expect(s.columns).toEqual(['num:n', 'cat:c=common', `cat:c=${OTHER_CATEGORY}`]);
  });
});

describe('encode', () => {
  const spec = fitFeatureSpec(
    [row({ visits: 1 }, { source: 'web' }), row({ visits: 3 }, { source: 'web' }), row({}, { source: 'ads' }), row({}, { source: '' }), row({}, {})],
    { minCount: 2 }
  );

  it('encodes row-major: standardised numbers, missing → mean (0) with indicator, one-hot categories, rare and unseen → other', () => {
    const x = encode(spec, [
      row({ visits: 3 }, { source: 'web' }),
      row({}, { source: 'ads' }), // rare in training
      row({ visits: Number.NaN }, { source: 'never-seen' }),
      row({ visits: 2, unknownFeature: 9 }, {}) // absent category = blank
    ]);
    expect(Array.from(x)).toEqual([
      1, 0, 0, 1, 0,
      0, 1, 0, 0, 1,
      0, 1, 0, 0, 1,
      0, 0, 1, 0, 0
    ]);
  });

  it('clamps numbers to the training range before standardising, so a model never extrapolates past what it saw', () => {
    // Training saw visits 1..3 (mean 2, std 1): 40 encodes as 3, -5 as 1.
    expect(Array.from(encode(spec, [row({ visits: 40 }, { source: 'web' }), row({ visits: -5 }, { source: 'web' })]))).toEqual([
      1, 0, 0, 1, 0,
      -1, 0, 0, 1, 0
    ]);
  });

  it('treats a null numeric (a NaN after JSON) as missing', () => {
    const fromJson = JSON.parse('{"numeric":{"visits":null},"categorical":{"source":"web"}}') as RawFeatures;
    expect(Array.from(encode(spec, [fromJson]))).toEqual([0, 1, 0, 1, 0]);
  });

  it('returns an empty matrix for no rows', () => {
    expect(encode(spec, [])).toEqual(new Float32Array(0));
  });
});
