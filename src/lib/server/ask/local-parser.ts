import { channels, stages } from '../../contracts/events';
import { exceptionKinds } from '../../contracts/exceptions';
import { leadQuerySchema, scoreBands, type LeadFilter, type LeadQuery, type ParsedQuery } from '../../contracts/lead-query';
import {
  NAME_STOPPERS,
  NEGATION,
  RULE_GROUPS,
  SQL_LIKE,
  STOP_WORDS,
  WRITE_VERB,
  type Heard,
  type Rule,
  type Words
} from './local-vocabulary';

/**
 * The query bar's offline parser (issue 7, item 4): a rep's sentence becomes a LeadQuery with no
 * network, or a refusal that says what was not understood and gives a phrasing that works. Pure
 * and deterministic: relative dates count from `now`, never from the clock. The vocabulary lives
 * in local-vocabulary.ts; this file reads the sentence with it, reports leftover words and refuses.
 */

/** What the parser understands, for the README and the query bar's help text. */
export const LOCAL_PARSER_UNDERSTANDS: readonly string[] = [
  'value: "over $50k", "more than 50,000", "above €20k", "at least 10k", "under 5k", "less than $1,000", "between 20k and 50k", "worth 50k+", "£1.5m or more", "over 50 000"; comparators include the number; currency signs and codes are read, not converted',
  'value words without a number ("big deals", "high-value leads") are never guessed: the vague word is listed as ignored',
  'inactivity: "no activity in 14 days", "haven\'t had activity in 2 weeks", "quiet for 10 days", "silent for a week", "inactive 30+ days", "not touched in a month", "no reply for 3 days", "without a reply since Monday" (a week is 7 days, a month 30)',
  'recent activity: "active in the last 7 days", "with activity this week" (7 days), "replied today", "contacted since Monday"',
  'first contact: "since Monday", "since 2026-11-01", "before 1 Nov", "in November", "created this month", "from last week", "yesterday", "older than 30 days"; days are UTC; a date without a year is the latest one not after today',
  'time windows: "in the last 30 days" or "this week" right after an activity word (active, activity, replied, contacted, touched) is recent activity; anywhere else it is first contact ("new leads in the last 30 days")',
  'stages: "new leads"/"enquiries" (enquired), "qualified", "bookings"/"appointments" (booked), "showed up"/"attended", "closed won", "closed lost", "closed" (won and lost), "open deals" (enquired to attended); "deals", "leads", "opportunities" alone mean any stage; "new" with a first-contact date ("new this week") means came in then, any stage',
  'channels: "whatsapp"/"wa", "messenger"/"facebook"/"fb", "web chat"/"website chat"/"chat", "phone"/"calls", "email"/"e-mail"/"mail", "sms"/"text messages"',
  'owner: "my leads", "mine", "assigned to me"; "unassigned", "unclaimed", "nobody\'s leads"; "owned by Ana", "assigned to Ana Lima", "Ana\'s deals"',
  'score: "hot"/"high score"/"likely to win" (high); "warm"/"medium score" (medium); "cold"/"low score"/"likely to lose" (low); "at risk" (medium and low: anything not likely to win); several score words add up',
  'exceptions: "went silent"/"ghosted"/"silent after qualification"; "stalled"/"stuck"; "no-shows"/"didn\'t show up"/"booked but not attended"; "no outcome"/"attended but not closed"; "score dropped"/"score fell"',
  'intent: "about implants", "interested in whitening", "wanting veneers", "leads for botox" (one to three words)',
  'action: "draft a follow-up for each", "write follow-ups", "follow up with them", "send them a message" draft follow-ups for a person to approve; otherwise the leads are listed',
  'refused: deleting, changing or exporting data; SQL; "not"/"except" before a filter; contradictions ("over 50k under 10k"); impossible numbers ("inactive -3 days"); counts ("more than 3 bookings"); closing, appointment or future dates; a sentence with none of the above',
  'anything else is reported as ignored, e.g. "ignored: in Paris"'
];

/** The ask endpoint's limit (askRequestSchema). */
const MAX_LENGTH = 500;
const EXAMPLE = 'deals over $50k with no activity in 14 days';
/** Replaces consumed words in the working text; normalise() removes every '|' the person typed. */
const BARRIER = '|';

type ListField = 'stages' | 'channels' | 'scoreBands' | 'exceptionKinds';
const CANONICAL_ORDER: Record<ListField, readonly string[]> = { stages, channels, scoreBands, exceptionKinds };
/** "new" alone means the first stage; see markNew. */
const NEW_STAGES = ['enquired'] as const;

/** What each field means to a person, for conflict and validation messages. */
const FIELD_WORDS: Record<keyof LeadFilter, string> = {
  minValue: 'the smallest deal value',
  maxValue: 'the largest deal value',
  inactiveDays: 'the days without activity',
  activeWithinDays: 'the days with recent activity',
  stages: 'the stages',
  channels: 'the channels',
  owner: 'the owner',
  scoreBands: 'the score',
  exceptionKinds: 'the exceptions',
  intent: 'the intent',
  createdFrom: 'the first-contact start',
  createdTo: 'the first-contact end'
};

/** Articles and prepositions kept around an ignored word so the UI can say "ignored: in Paris". */
const ARTICLES = new Set(['a', 'an', 'the', 'any', 'some']);
const PREPOSITIONS = new Set(['in', 'with', 'from', 'at', 'near', 'by', 'for', 'on', 'to', 'via', 'about', 'around', 'like', 'outside', 'inside']);
/** Words a negation may skip before the filter it negates ("not in whatsapp", "not yet booked"). */
const NEGATION_SKIPS = new Set(['a', 'an', 'the', 'any', 'in', 'on', 'from', 'by', 'via', 'as', 'being', 'been', 'be', 'yet', 'at', 'with', 'to', 'currently']);

export function parseLocally(text: string, now: number): ParsedQuery {
  // A bad clock is a caller's bug, not a sentence to refuse.
  if (!Number.isFinite(now) || now < 0 || now > Date.UTC(9000, 0, 1)) throw new RangeError(`now must be epoch ms, got ${now}`);
  const sentence = text.trim().replace(/\s+/gu, ' ');
  if (sentence === '') return refusal('Type a question about your leads.', EXAMPLE);
  if (text.length > MAX_LENGTH) return refusal(`That is ${text.length} characters; I read at most ${MAX_LENGTH}.`, EXAMPLE);
  if (SQL_LIKE.some((pattern) => pattern.test(text))) return refusal(`I read questions in words, not SQL (${quote(sentence)}).`, EXAMPLE, true);
  const reading = new Reading(text, now);
  for (const group of RULE_GROUPS) for (const rule of group) reading.apply(rule);
  return reading.conclude();
}

/** `unsafe`: refused on purpose (SQL, a request to change data), so no model is asked to try instead. */
function refusal(problem: string, example: string, unsafe = false): ParsedQuery {
  return { ok: false, message: `${problem} Try something like "${example}".`, ...(unsafe ? { unsafe: true } : {}) };
}

function quote(words: string): string {
  return `"${words.length > 60 ? `${words.slice(0, 59)}…` : words}"`;
}

/**
 * Lower-cases and blanks punctuation without changing the length, so every index in the working
 * text is also an index in what the person typed (ignored words are reported as typed).
 */
function normalise(text: string): string {
  let lower = '';
  for (const unit of text.split('')) {
    const folded = unit.toLowerCase();
    lower += folded.length === 1 ? folded : unit;
  }
  return lower
    .replace(/[’‘`´]/gu, "'")
    .replace(/[^\p{L}\p{N}\p{M}\s$€£'.,+\-<>=%/]|\s/gu, (c) => ' '.repeat(c.length))
    .replace(/\.(?!\d)|(?<!\d)\./gu, ' ')
    .replace(/,(?!\d{3}(?!\d))|(?<!\d),/gu, ' ');
}

interface Token {
  start: number;
  end: number;
  lower: string;
  /** Tokens with the same run id have no consumed words between them. */
  run: number;
}

class Reading implements Heard {
  private work: string;
  private readonly filter: Partial<Record<keyof LeadFilter, unknown>> = {};
  private readonly saidFor: Partial<Record<keyof LeadFilter, string>> = {};
  private readonly lists: Record<ListField, Set<string>> = {
    stages: new Set(),
    channels: new Set(),
    scoreBands: new Set(),
    exceptionKinds: new Set()
  };
  private action: LeadQuery['action'] = 'list';
  private isNewHeard = false;
  private hasRecognised = false;
  private problem: { message: string; example: string } | undefined;

  constructor(
    private readonly original: string,
    readonly now: number
  ) {
    this.work = normalise(original);
  }

  apply(rule: Rule): void {
    const pattern = rule.pattern;
    pattern.lastIndex = 0;
    for (let m = pattern.exec(this.work); m !== null; m = pattern.exec(this.work)) {
      const matchEnd = m.index + m[0].length;
      const result = m[0].trim() === '' ? false : rule.apply(m, this);
      if (result === false) {
        pattern.lastIndex = Math.max(matchEnd, m.index + 1);
        continue;
      }
      const start = result?.start ?? m.index;
      const end = result?.end ?? matchEnd;
      this.work = this.work.slice(0, start) + BARRIER.repeat(end - start) + this.work.slice(end);
      this.hasRecognised = true;
      pattern.lastIndex = end;
    }
  }

  said(m: RegExpExecArray): string {
    return this.typed(m.index, m.index + m[0].length);
  }

  setValue<K extends keyof LeadFilter>(field: K, value: NonNullable<LeadFilter[K]>, said: string): void {
    const previous = this.filter[field];
    if (previous !== undefined && JSON.stringify(previous) !== JSON.stringify(value)) {
      this.refuse(`"${this.saidFor[field]}" and "${said}" both set ${FIELD_WORDS[field]}; keep one.`, `${this.saidFor[field]}`);
      return;
    }
    this.filter[field] = value;
    this.saidFor[field] ??= said;
  }

  addAll(field: ListField, values: readonly string[]): void {
    for (const value of values) this.lists[field].add(value);
  }

  act(action: 'draft_follow_ups'): void {
    this.action = action;
  }

  markNew(): void {
    this.isNewHeard = true;
  }

  refuse(message: string, example: string): void {
    this.problem ??= { message, example };
  }

  nextWord(index: number): string {
    const word = /^\s*([^\s|]*)/u.exec(this.work.slice(index))?.[1] ?? '';
    return word.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
  }

  wordsAfter(index: number, max: number, skipArticles = false): Words | undefined {
    const word = /\s*([\p{L}\p{N}][\p{L}\p{N}\p{M}'-]*)/uy;
    word.lastIndex = index;
    const found: { start: number; end: number }[] = [];
    for (let m = word.exec(this.work); m !== null && found.length < max; m = word.exec(this.work)) {
      const lower = m[1] ?? '';
      if (skipArticles && found.length === 0 && ARTICLES.has(lower)) continue;
      if (NAME_STOPPERS.has(lower) || WRITE_VERB.test(lower) || NEGATION.test(lower)) break;
      found.push({ start: m.index + m[0].length - lower.length, end: m.index + m[0].length });
    }
    const [first, last] = [found[0], found.at(-1)];
    if (!first || !last) return undefined;
    return { original: this.typed(first.start, last.end), lower: this.work.slice(first.start, last.end), start: first.start, end: last.end };
  }

  possessiveName(index: number, word: string): Words | undefined {
    if (NAME_STOPPERS.has(word) || WRITE_VERB.test(word) || NEGATION.test(word)) return undefined;
    const end = index + word.length;
    const before = /([\p{L}][\p{L}\p{M}-]*)\s+$/u.exec(this.work.slice(0, index));
    const isCapitalised = (at: number) => /^\p{Lu}/u.test(this.original.slice(at));
    // "Ana Lima's" takes the first name only when both are capitalised as names are.
    const start =
      before && isCapitalised(before.index) && isCapitalised(index) && !NAME_STOPPERS.has(before[1] ?? '') ? before.index : index;
    return { original: this.typed(start, end), lower: this.work.slice(start, end), start, end };
  }

  conclude(): ParsedQuery {
    const tokens = this.leftoverTokens();
    const write = tokens.find((token) => WRITE_VERB.test(token.lower));
    if (write) {
      const asked = quote(this.typed(write.start, this.original.length).split(' ').slice(0, 4).join(' '));
      return refusal(`I only find leads and draft follow-ups for a person to approve, so I won't act on ${asked}.`, 'lost leads from last month', true);
    }
    if (this.problem) return refusal(this.problem.message, this.problem.example);
    const negated = this.negatedFilter(tokens);
    if (negated) return refusal(`I can't leave things out yet (${quote(negated)}); say what you want instead.`, 'cold or warm deals');
    if (!this.hasRecognised) {
      return refusal(
        `I didn't understand ${quote(this.typed(0, this.original.length))}. I can filter leads by value, activity, stage, channel, owner, score, exception, intent and first-contact date.`,
        EXAMPLE
      );
    }
    const filter = this.builtFilter();
    const contradiction = this.contradiction(filter);
    if (contradiction) return refusal(contradiction.message, contradiction.example);
    const checked = leadQuerySchema.safeParse({ filter, action: this.action });
    if (!checked.success) {
      const issue = checked.error.issues[0];
      const field = issue?.path[issue.path.length - 1];
      const what = typeof field === 'string' && field in FIELD_WORDS ? `${FIELD_WORDS[field as keyof LeadFilter]}: ` : '';
      return refusal(`I couldn't use that (${what}${issue?.message ?? 'not a valid question'}).`, EXAMPLE);
    }
    return { ok: true, query: checked.data, source: 'local', ignored: this.ignoredPhrases(tokens) };
  }

  private builtFilter(): LeadFilter {
    const hasCreated = this.filter.createdFrom !== undefined || this.filter.createdTo !== undefined;
    if (this.isNewHeard && !hasCreated) this.addAll('stages', NEW_STAGES);
    const filter: Record<string, unknown> = { ...this.filter };
    for (const field of Object.keys(this.lists) as ListField[]) {
      const heard = CANONICAL_ORDER[field].filter((value) => this.lists[field].has(value));
      if (heard.length > 0) filter[field] = heard;
    }
    return filter as LeadFilter;
  }

  private contradiction(filter: LeadFilter): { message: string; example: string } | undefined {
    const both = (a: keyof LeadFilter, b: keyof LeadFilter) => `"${this.saidFor[a]}" and "${this.saidFor[b]}" contradict each other`;
    if (filter.minValue !== undefined && filter.maxValue !== undefined && filter.minValue > filter.maxValue) {
      return { message: `${both('minValue', 'maxValue')}: no deal is both.`, example: 'deals between $10k and $50k' };
    }
    if (filter.inactiveDays !== undefined && filter.activeWithinDays !== undefined && filter.inactiveDays >= filter.activeWithinDays) {
      return { message: `${both('inactiveDays', 'activeWithinDays')}: a lead can't be both quiet and recently active.`, example: 'no activity in 14 days' };
    }
    if (filter.createdFrom !== undefined && filter.createdTo !== undefined && filter.createdFrom > filter.createdTo) {
      return { message: `${both('createdFrom', 'createdTo')}: the first day is after the last.`, example: 'leads since 1 Nov' };
    }
    return undefined;
  }

  /** The typed text between two indexes, whitespace collapsed. */
  private typed(start: number, end: number): string {
    return this.original.slice(start, end).trim().replace(/\s+/gu, ' ');
  }

  private leftoverTokens(): Token[] {
    const tokens: Token[] = [];
    let run = 0;
    let previousEnd = 0;
    for (const m of this.work.matchAll(/[^\s|]+/gu)) {
      if (this.work.slice(previousEnd, m.index).includes(BARRIER)) run++;
      previousEnd = m.index + m[0].length;
      const lead = /^[^\p{L}\p{N}$€£]*/u.exec(m[0])?.[0].length ?? 0;
      const trail = /[^\p{L}\p{N}%]*$/u.exec(m[0].slice(lead))?.[0].length ?? 0;
      const lower = m[0].slice(lead, m[0].length - trail);
      if (lower !== '') tokens.push({ start: m.index + lead, end: previousEnd - trail, lower, run });
    }
    return tokens;
  }

  private isMeaningful(token: Token): boolean {
    return !STOP_WORDS.has(token.lower);
  }

  /** "not hot", "except lost": a negation whose next word the parser consumed as a filter. */
  private negatedFilter(tokens: readonly Token[]): string | undefined {
    for (const token of tokens) {
      if (!NEGATION.test(token.lower)) continue;
      let at = token.end;
      for (;;) {
        const next = /^\s*([^\s|]*)/u.exec(this.work.slice(at));
        const skipped = next?.[0].length ?? 0;
        if (this.work[at + skipped] === BARRIER) {
          const barrierEnd = /^\|+/u.exec(this.work.slice(at + skipped))?.[0].length ?? 0;
          return this.typed(token.start, at + skipped + barrierEnd);
        }
        if (!next?.[1] || !NEGATION_SKIPS.has(next[1])) return undefined;
        at += skipped;
      }
    }
    return undefined;
  }

  /** Runs of unrecognised words, each with the preposition before it ("in Paris", "with a discount"). */
  private ignoredPhrases(tokens: readonly Token[]): string[] {
    const phrases: string[] = [];
    let i = 0;
    while (i < tokens.length) {
      const token = tokens[i];
      if (!token || !this.isMeaningful(token)) {
        i++;
        continue;
      }
      let last = i;
      while (tokens[last + 1]?.run === token.run && this.isMeaningful(tokens[last + 1] as Token)) last++;
      let first = i;
      while (tokens[first - 1]?.run === token.run && ARTICLES.has(tokens[first - 1]?.lower ?? '')) first--;
      const before = tokens[first - 1];
      first = before?.run === token.run && PREPOSITIONS.has(before.lower) ? first - 1 : i;
      const phrase = this.typed(tokens[first]?.start ?? 0, tokens[last]?.end ?? 0);
      if (!phrases.includes(phrase)) phrases.push(phrase);
      i = last + 1;
    }
    return phrases;
  }
}
