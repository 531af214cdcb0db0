import { join } from 'node:path';
import type { LabelledExample } from '../../src/lib/contracts/model';
import { checkLabels, readCsv, readSplitFile, type FixedSplit } from './split-file';

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/**
 * Olist marketing funnel: one example per MQL, won when it has a closed deal. Only the MQL form
 * fields are features (origin, landing page, weekday of first contact): every closed-deal column
 * exists only for won leads, and the absolute date would leak that deals exist only from
 * 2017-12-05 (see the data README). `at` is the first-contact date, so the split file's time
 * order and ours agree.
 */
export async function loadOlist(dataDir: string): Promise<{ examples: LabelledExample[]; split: FixedSplit }> {
  const dir = join(dataDir, 'olist-marketing-funnel');
  const [mqls, deals, split] = await Promise.all([
    readCsv(join(dir, 'olist_marketing_qualified_leads_dataset.csv')),
    readCsv(join(dir, 'olist_closed_deals_dataset.csv')),
    readSplitFile(dataDir, 'olist_split.csv')
  ]);
  const won = new Set(deals.map((d) => d.mql_id));
  const examples = mqls.map((r): LabelledExample => {
    const at = Date.parse(`${r.first_contact_date}T00:00:00Z`);
    if (!Number.isFinite(at)) throw new Error(`olist: MQL ${r.mql_id} has first_contact_date "${r.first_contact_date}"`);
    return {
      id: r.mql_id ?? '',
      at,
      label: won.has(r.mql_id) ? 1 : 0,
      features: {
        numeric: {},
        categorical: {
          origin: r.origin ?? '',
          landing_page_id: r.landing_page_id ?? '',
          weekday: WEEKDAYS[new Date(at).getUTCDay()] as string
        }
      }
    };
  });
  checkLabels('olist', examples, split);
  return { examples, split };
}
