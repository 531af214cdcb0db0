import { channelWords } from '../src/lib/contracts/events';
import type { FeatureEvidence, RawFeatures } from '../src/lib/contracts/model';
import { featureLabels, featureUnits, NONE, type FeatureName, type NumericFeature } from './features';

/**
 * Reasons for one score (issue 6): the model's per-column contributions (logit units) summed
 * back to the raw features they encode, the largest few by magnitude, each in words a rep can act
 * on and tied to the event that set the feature. Pure; the model and encoder live elsewhere.
 */

export interface ScoreReason {
  /** Raw feature name, e.g. 'hoursSinceLastInbound'. */
  feature: string;
  /** 'up' raises the win chance, 'down' lowers it. */
  direction: 'up' | 'down';
  /** Summed contribution in logit units (signed). */
  weight: number;
  text: string;
  /** The event that set the feature, when there is one. */
  eventId?: string;
}

/**
 * The raw feature an encoded column belongs to (normalize.ts names them): 'num:x' and
 * 'missing:x' → x; 'cat:channel=whatsapp' → channel.
 */
export function rawFeatureOf(column: string): string {
  const body = column.replace(/^(num|missing|cat):/, '');
  if (!column.startsWith('cat:')) return body;
  const eq = body.indexOf('=');
  return eq < 0 ? body : body.slice(0, eq);
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "20 min", "4 h", "3 days": rounded, so a rep reads the size, not false precision. */
export function formatHours(hours: number): string {
  const ms = Math.max(0, hours) * HOUR;
  if (ms < HOUR) return `${Math.max(1, Math.round(ms / MINUTE))} min`;
  if (ms < 2 * DAY) return `${Math.round(ms / HOUR)} h`;
  const days = Math.round(ms / DAY);
  return `${days} days`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A numeric feature's value in its natural unit (hours, count, money…). */
export function naturalValue(feature: NumericFeature, stored: number): number {
  switch (featureUnits[feature]) {
    case 'log1pHours':
    case 'log1pCount':
    case 'log1pMoney':
      return Math.expm1(stored);
    default:
      return stored;
  }
}

const stageNames = ['no stage', 'enquired', 'qualified', 'booked', 'attended'];
const dayNames: Record<string, string> = {
  mon: 'Monday',
  tue: 'Tuesday',
  wed: 'Wednesday',
  thu: 'Thursday',
  fri: 'Friday',
  sat: 'Saturday',
  sun: 'Sunday'
};

function numericText(feature: NumericFeature, stored: number, features: RawFeatures): string {
  const v = naturalValue(feature, stored);
  const n = Math.round(v);
  const yes = stored >= 0.5;
  const stage = features.categorical.currentStage;
  switch (feature) {
    case 'stageReached':
      return n > 0 ? `Reached ${stageNames[n] ?? `stage ${n}`}` : 'No stage recorded yet';
    case 'hoursInStage':
      return `In ${stage && stage !== NONE ? stage : 'the current stage'} for ${formatHours(v)}`;
    case 'leadAgeHours':
      return `First contact ${formatHours(v)} ago`;
    case 'hoursSinceLastActivity':
      return `Nothing happened for ${formatHours(v)}`;
    case 'hoursSinceLastInbound':
      return features.numeric.messagesIn ? `No message from the customer for ${formatHours(v)}` : `The customer has not written in ${formatHours(v)}`;
    case 'hoursSilentAfterQualification':
      return v > 0 ? `No reply for ${formatHours(v)} after qualification` : 'Customer replied after qualification';
    case 'messagesIn':
      return `Customer sent ${plural(n, 'message')}`;
    case 'messagesOut':
      return `Agent sent ${plural(n, 'message')}`;
    case 'hasAgentReply':
      return yes ? 'The agent has answered the customer' : 'The agent has not answered the customer yet';
    case 'responseHoursMedian':
      return `Agent usually answers within ${formatHours(v)}`;
    case 'responseHoursLast':
      return `Agent took ${formatHours(v)} to answer`;
    case 'customerSpokeLast':
      return yes ? 'Customer spoke last and is waiting for an answer' : 'Agent spoke last';
    case 'messagesSinceInbound':
      return n > 0 ? `Agent wrote ${plural(n, 'time')} since the customer last answered` : 'Customer answered the last message';
    case 'confidence':
      return v > 0 ? `Agent is ${Math.round(v * 100)}% sure of the intent` : 'Not qualified yet';
    case 'bookingsCreated':
      return n > 0 ? `Booked ${plural(n, 'appointment')}` : 'No booking yet';
    case 'bookingsCancelled':
      return n > 0 ? `Cancelled ${plural(n, 'booking')}` : 'No cancelled booking';
    case 'noShows':
      return n > 0 ? `Missed ${plural(n, 'appointment')}` : 'No missed appointment';
    case 'attendedVisits':
      return n > 0 ? `Attended ${plural(n, 'visit')}` : 'No visit attended yet';
    case 'hasEmail':
      return yes ? 'Gave an email address' : 'No email address yet';
    case 'hasPhone':
      return yes ? 'Gave a phone number' : 'No phone number yet';
    case 'hasCompany':
      return yes ? 'Company is known' : 'Company not known';
    case 'hasName':
      return yes ? 'Gave their name' : 'Name not known yet';
    case 'dealValue':
      return v > 0 ? `Deal worth about ${Math.round(v).toLocaleString('en')}` : 'No deal value yet';
    case 'humanActions':
      return n > 0 ? `${plural(n, 'action')} by people on this lead` : 'No person has acted on this lead';
    case 'claimedByHuman':
      return yes ? 'A person claimed or was assigned this lead' : 'Nobody has claimed this lead';
    case 'correctedByHuman':
      return yes ? 'A person corrected the agent' : 'No corrections by people';
  }
}

function categoricalText(feature: string, value: string): string {
  if (value === NONE || value === '') return `${featureLabels[feature as FeatureName] ?? feature} not known yet`;
  switch (feature) {
    case 'channel':
      return `Came through ${(channelWords as Record<string, string | undefined>)[value] ?? value}`;
    case 'source':
      return `Found us via ${value}`;
    case 'intent':
      return `Asked about ${value}`;
    case 'currentStage':
      return `Currently ${value}`;
    case 'agentId':
      return `Handled by ${value}`;
    case 'firstContactDaypart':
      return value === 'night' ? 'First wrote at night' : `First wrote in the ${value}`;
    case 'firstContactWeekday':
      return `First wrote on a ${dayNames[value] ?? value}`;
    default:
      return `${featureLabels[feature as FeatureName] ?? feature}: ${value}`;
  }
}

function reasonText(feature: string, features: RawFeatures): string {
  if (feature in features.categorical) return categoricalText(feature, features.categorical[feature]!);
  const stored = features.numeric[feature];
  if (stored === undefined) return featureLabels[feature as FeatureName] ?? feature;
  // Features of other datasets (the public benchmarks) have no wording: name and value.
  if (!(feature in featureUnits)) return `${feature}: ${Number(stored.toPrecision(3))}`;
  return numericText(feature as NumericFeature, stored, features);
}

/**
 * Features that measure one thing from different angles. A linear model given all of them often
 * weighs them against each other (a long silence down, the lead's age up), and reasons listed
 * one by one then read as "nothing happened for 84 days ▲": true of the arithmetic, misleading to
 * a rep. Each family becomes one reason with the family's net pull.
 */
const FAMILIES: Record<string, readonly string[]> = {
  quiet: ['hoursSinceLastInbound', 'hoursSinceLastActivity', 'leadAgeHours', 'hoursSilentAfterQualification', 'hoursInStage', 'messagesSinceInbound', 'customerSpokeLast'],
  conversation: ['messagesIn', 'messagesOut', 'hasAgentReply'],
  response: ['responseHoursMedian', 'responseHoursLast'],
  progress: ['stageReached', 'currentStage'],
  visits: ['bookingsCreated', 'bookingsCancelled', 'noShows', 'attendedVisits'],
  contact: ['hasEmail', 'hasPhone', 'hasCompany', 'hasName']
};
const familyOf = new Map(Object.entries(FAMILIES).flatMap(([family, members]) => members.map((m) => [m, `family:${family}`] as const)));

/**
 * The top reasons (default 3) behind one lead's score. `contributions[i]` belongs to
 * `columns[i]`; a raw feature's weight is the sum over its columns (one-hot categories and any
 * companion columns), so a reason is about what the rep sees, not about encoding.
 */
export function explainScore(args: {
  contributions: Float32Array;
  columns: string[];
  features: RawFeatures;
  evidence: FeatureEvidence;
  top?: number;
}): { reasons: ScoreReason[] } {
  const { contributions, columns, features, evidence, top = 3 } = args;
  if (contributions.length !== columns.length) {
    throw new RangeError(`contributions has ${contributions.length} values for ${columns.length} columns`);
  }
  const weights = new Map<string, number>();
  columns.forEach((column, i) => {
    const feature = rawFeatureOf(column);
    weights.set(feature, (weights.get(feature) ?? 0) + contributions[i]!);
  });
  // Correlated features share their credit: fold each family into one reason, worded by its
  // member that pulls hardest in the family's net direction.
  const families = new Map<string, { net: number; members: [string, number][] }>();
  for (const [feature, w] of weights) {
    if (w === 0 || !Number.isFinite(w)) continue;
    const family = familyOf.get(feature) ?? feature;
    const f = families.get(family) ?? { net: 0, members: [] };
    f.net += w;
    f.members.push([feature, w]);
    families.set(family, f);
  }
  const ranked = [...families.values()]
    .filter((f) => f.net !== 0)
    .map((f) => {
      const aligned = f.members.filter(([, w]) => Math.sign(w) === Math.sign(f.net));
      const [feature] = aligned.sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]) || (a[0] < b[0] ? -1 : 1))[0]!;
      return [feature, f.net] as const;
    })
    .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]) || (a[0] < b[0] ? -1 : 1))
    .slice(0, Math.max(0, top));
  return {
    reasons: ranked.map(([feature, weight]) => ({
      feature,
      direction: weight > 0 ? 'up' : 'down',
      weight,
      text: reasonText(feature, features),
      ...(evidence[feature] ? { eventId: evidence[feature] } : {})
    }))
  };
}
