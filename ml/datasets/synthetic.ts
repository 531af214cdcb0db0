import type { LabelledExample } from '../../src/lib/contracts/model';
import { seededRandom } from '../random';

/** Lead sources and their planted effect on the log-odds of winning. */
const SOURCES: [string, number][] = [
  ['referral', 1.8],
  ['website', 0.6],
  ['paid_search', 0],
  ['social', -0.6],
  ['cold_list', -1.8],
  ['', -0.9]
];

/**
 * `n` leads with a known signal, for tests and the bench: won-odds rise with visits, fall with
 * hours to first reply (missing for ~10 %, and missing is itself bad news), depend on the
 * source, and carry an interaction (visits matter twice as much for referrals) that only the
 * network can use; `region` is pure noise. `at` rises with the index, one lead a minute.
 */
export function syntheticLeads(n: number, seed: number, startAt = Date.UTC(2026, 0, 1)): LabelledExample[] {
  const random = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Array.from({ length: n }, (_, i) => {
    const visits = Math.round(Math.exp(1 + 0.8 * normal()));
    const replyMissing = random() < 0.1;
    const replyHours = Math.max(0, 6 + 5 * normal());
    const [source, effect] = SOURCES[Math.floor(random() * SOURCES.length)] as [string, number];
    const z = (Math.log1p(visits) - 1.2) * (source === 'referral' ? 3.6 : 1.8);
    const logit = -1.5 + z + effect - 0.15 * (replyHours - 6) - (replyMissing ? 1 : 0);
    const label = random() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    return {
      id: `lead-${seed}-${i}`,
      at: startAt + i * 60_000,
      label,
      features: {
        numeric: { visits, ...(replyMissing ? {} : { replyHours }) },
        categorical: { source, region: `r${Math.floor(random() * 25)}` }
      }
    };
  });
}
