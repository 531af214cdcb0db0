import { parse } from 'csv-parse/sync';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export interface FixedSplit {
  train: Set<string>;
  test: Set<string>;
  /** The label the split file records per id, to check an adapter's join against. */
  labels: Map<string, 0 | 1>;
}

/** Reads the data dir's `splits/<name>` file (`id,split,label[,cv_fold]`). */
export async function readSplitFile(dataDir: string, name: string): Promise<FixedSplit> {
  const rows = await readCsv(join(dataDir, 'splits', name));
  const split: FixedSplit = { train: new Set(), test: new Set(), labels: new Map() };
  for (const r of rows) {
    const id = r.id ?? '';
    if (r.split === 'train') split.train.add(id);
    else if (r.split === 'test') split.test.add(id);
    else throw new Error(`${name}: id ${id} has split "${r.split}", expected train or test`);
    split.labels.set(id, r.label === '1' ? 1 : 0);
  }
  return split;
}

/** A CSV file with a header row, as records of strings (no type guessing: adapters decide). */
export async function readCsv(path: string): Promise<Record<string, string>[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: put the public datasets (../shared/data/real, see its README) there or set PIPEWALL_REAL_DATA`, { cause: err });
  }
  return parse(text, { columns: true, skip_empty_lines: true, bom: true }) as Record<string, string>[];
}

/** Throws when an adapter's labels disagree with the split file's for any id. */
export function checkLabels(name: string, examples: { id: string; label: 0 | 1 }[], split: FixedSplit): void {
  const wrong = examples.filter((e) => split.labels.has(e.id) && split.labels.get(e.id) !== e.label);
  const missing = examples.filter((e) => !split.labels.has(e.id)).length;
  if (wrong.length > 0 || missing > 0 || split.labels.size !== examples.length) {
    throw new Error(`${name}: labels disagree with the split file (${wrong.length} differ, ${missing} ids not in it, ${split.labels.size} split rows for ${examples.length} examples)`);
  }
}

/**
 * Where the public datasets live: `override` (PIPEWALL_REAL_DATA) or `../shared/data/real` beside
 * the repo root, where CI keeps them.
 */
export function resolveRealDataDir(root: string, override?: string): string {
  return override ? resolve(root, override) : resolve(root, '..', 'shared', 'data', 'real');
}
