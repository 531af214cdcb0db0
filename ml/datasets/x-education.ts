import { join } from 'node:path';
import type { LabelledExample } from '../../src/lib/contracts/model';
import { checkLabels, readCsv, readSplitFile, type FixedSplit } from './split-file';

const NUMERIC = ['TotalVisits', 'Total Time Spent on Website', 'Page Views Per Visit'];
const ASYMMETRIQUE_NUMERIC = ['Asymmetrique Activity Score', 'Asymmetrique Profile Score'];
const ASYMMETRIQUE_CATEGORICAL = ['Asymmetrique Activity Index', 'Asymmetrique Profile Index'];
/**
 * Filled by sales during or after follow-up (the data dictionary says so), so they are not known
 * when a lead arrives: Tags ≈ "current status", Lead Quality = the rep's judgement.
 */
const EXCLUDED = new Set(['Prospect ID', 'Lead Number', 'Converted', 'Tags', 'Lead Quality', 'Lead Profile', 'Last Activity', 'Last Notable Activity']);

/**
 * X Education leads, label `Converted`. Every other column is a feature: the three web-activity
 * counts are numeric, the rest categorical; the Asymmetrique scores (numeric) and indices
 * (categorical) only with `asymmetrique`. `Select` (the form's "not chosen") counts as blank.
 * The file has no timestamps, so every `at` is 0: the time order then falls back to the id, a
 * random UUID, and the validation split cut from "the end of train" is a random sample, like the
 * stratified random test split it stands in for. (Row order instead made validation convert at
 * 34 % against 38.5 % in test, and Platt scaling on it miscalibrated the test figures.)
 */
export async function loadXEducation(dataDir: string, opts: { asymmetrique: boolean }): Promise<{ examples: LabelledExample[]; split: FixedSplit }> {
  const [rows, split] = await Promise.all([readCsv(join(dataDir, 'x-education-leads', 'Leads.csv')), readSplitFile(dataDir, 'x_education_split.csv')]);
  const asym = new Set([...ASYMMETRIQUE_NUMERIC, ...ASYMMETRIQUE_CATEGORICAL]);
  const numericNames = [...NUMERIC, ...(opts.asymmetrique ? ASYMMETRIQUE_NUMERIC : [])];
  const examples = rows.map((r, i): LabelledExample => {
    const numeric: Record<string, number> = {};
    for (const name of numericNames) {
      const v = r[name]?.trim() ?? '';
      // Absent, not NaN: JSON (the training job's input) has no NaN.
      if (v !== '') numeric[name] = Number(v);
    }
    const categorical: Record<string, string> = {};
    for (const [name, value] of Object.entries(r)) {
      if (EXCLUDED.has(name) || NUMERIC.includes(name) || ASYMMETRIQUE_NUMERIC.includes(name)) continue;
      if (asym.has(name) && !opts.asymmetrique) continue;
      categorical[name] = value === 'Select' ? '' : value;
    }
    const converted = r.Converted;
    if (converted !== '0' && converted !== '1') throw new Error(`x-education: row ${i + 2} has Converted "${converted}"`);
    return { id: r['Prospect ID'] ?? '', at: 0, label: converted === '1' ? 1 : 0, features: { numeric, categorical } };
  });
  checkLabels('x-education', examples, split);
  return { examples, split };
}
