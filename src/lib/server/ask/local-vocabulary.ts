import type { Channel, Stage } from '../../contracts/events';
import type { ExceptionKind } from '../../contracts/exceptions';
import type { LeadFilter, ScoreBand } from '../../contracts/lead-query';
import { DAY_MS, UNIT, DURATION, checkedDays, parseDuration, WEEKDAY, POINT, todayOf, isoDay, pointOrRefuse } from './local-dates';

/**
 * The query bar's vocabulary (issue 7, item 4) as ordered tables of regular expressions over the
 * lower-cased sentence. local-parser.ts runs the groups in RULE_GROUPS order and blanks out what
 * each rule consumed, so an earlier, more specific phrase ("no activity in 14 days", "didn't show
 * up", "likely to win") wins over the loose words inside it ("activity", "showed up", "win").
 */

type SingleField = 'minValue' | 'maxValue' | 'inactiveDays' | 'activeWithinDays' | 'owner' | 'intent' | 'createdFrom' | 'createdTo';
interface ListValues {
  stages: Stage;
  channels: Channel;
  scoreBands: ScoreBand;
  exceptionKinds: ExceptionKind;
}

/** Words read from the sentence after a cue: as typed, lower-cased, and where they sit. */
export interface Words {
  original: string;
  lower: string;
  start: number;
  end: number;
}

/** What a rule may do with what it heard; local-parser.ts implements it. */
export interface Heard {
  /** Epoch ms the question is asked at; relative dates count from its UTC day. */
  readonly now: number;
  /** The match as the person typed it, for messages. */
  said(m: RegExpExecArray): string;
  /** Sets a single-valued field; a second, different value is refused as a conflict. */
  setValue<K extends SingleField>(field: K, value: NonNullable<LeadFilter[K]>, said: string): void;
  addAll<K extends keyof ListValues>(field: K, values: readonly ListValues[K][]): void;
  act(action: 'draft_follow_ups'): void;
  /** "new": the enquired stage, unless a first-contact date says when they came in. */
  markNew(): void;
  /** The first refusal wins; `example` must be a phrasing the parser understands. */
  refuse(problem: string, example: string): void;
  /** The unconsumed word starting at `index`, lower-cased ('' when none). */
  nextWord(index: number): string;
  /** Up to `max` words from `index` that are not vocabulary or filler; leading articles skipped when asked. */
  wordsAfter(index: number, max: number, skipArticles?: boolean): Words | undefined;
  /** The name in "Ana's deals" / "Ana Lima's deals" whose possessive word starts at `index`. */
  possessiveName(index: number, word: string): Words | undefined;
}

/** `false` leaves the words for later rules; `start`/`end` widen what is consumed beyond the match. */
export type RuleResult = void | false | { start?: number; end?: number };
export interface Rule {
  /** Global regex over the lower-cased sentence; the parser resets its lastIndex before each use. */
  pattern: RegExp;
  apply: (m: RegExpExecArray, heard: Heard) => RuleResult;
}

const R = String.raw;
const rx = (source: string): RegExp => new RegExp(source, 'gu');

/** Words that say which leads without filtering; hearing one means the sentence was about leads. */
const SUBJECT = R`deals?|leads?|opportunit(?:y|ies)|opps?|prospects?|contacts?|customers?|clients?|patients?|enquirers|inquirers|conversations?|pipeline|inbox`;

const stages = (...values: Stage[]) => (_m: RegExpExecArray, heard: Heard) => heard.addAll('stages', values);
const channel = (value: Channel) => (_m: RegExpExecArray, heard: Heard) => heard.addAll('channels', [value]);
const bands = (...values: ScoreBand[]) => (_m: RegExpExecArray, heard: Heard) => heard.addAll('scoreBands', values);
const exception = (value: ExceptionKind) => (_m: RegExpExecArray, heard: Heard) => heard.addAll('exceptionKinds', [value]);

// ---------------------------------------------------------------------------------------------
// Activity: how long since anything happened. Runs first, so "silent for a week" is inactivity
// and only a bare "went silent" is the silent-after-qualification exception.

/** A window after an activity word: "14 days", "a month", "this week", "since Monday", "since 1 Nov". */
const WINDOW = R`(?:${DURATION}|today|this\s+(?:week|month)|since\s+${POINT})`;

/** Days from a WINDOW; `undefined` when it is not usable (the rule then declines). */
function windowDays(text: string, said: string, heard: Heard): number | undefined {
  if (text === 'today') return 1;
  if (/^this\s+week$/u.test(text)) return 7;
  if (/^this\s+month$/u.test(text)) return 30;
  const since = /^since\s+(.+)$/u.exec(text);
  if (!since) return parseDuration(text, said, heard);
  const found = pointOrRefuse(since[1] ?? '', said, heard);
  return found && checkedDays(Math.round((todayOf(heard.now) - found.from) / DAY_MS) + 1, said, heard);
}

const setDays = (field: 'inactiveDays' | 'activeWithinDays') => (m: RegExpExecArray, heard: Heard) => {
  const days = windowDays(m[1] ?? '', heard.said(m), heard);
  if (days === undefined) return false;
  heard.setValue(field, days, heard.said(m));
};

const NOT_DONE = R`(?:haven'?t|hasn'?t|hadn'?t|have\s+not|has\s+not|had\s+not|didn'?t|did\s+not)`;
const INACTIVE_PREFIXES = [
  R`(?:no|without)\s+(?:any\s+)?(?:recent\s+)?(?:activity|repl(?:y|ies)|an?\s+(?:reply|response)|responses?|contact|messages?|touch(?:es|points?)?|updates?|changes?|movement|engagement|interactions?|follow[- ]?ups?|news)`,
  R`${NOT_DONE}\s+(?:had\s+)?(?:any\s+)?(?:activity|been\s+(?:touched|contacted|active|updated|followed\s+up)|replied|responded|answered|moved|engaged|heard\s+(?:back|from\s+(?:them|him|her))|had\s+a\s+reply|reply|respond|answer)`,
  R`(?:not|never)\s+(?:been\s+)?(?:touched|contacted|updated|active|followed\s+up|worked(?:\s+on)?)`,
  R`(?:(?:went|gone|been|going|has\s+been|have\s+been|was|were)\s+)?(?:untouched|inactive|idle|dormant|stale|quiet|silent)`
];

const ACTIVITY: Rule[] = [
  { pattern: rx(R`\blast\s+(?:activity|contact|touch(?:ed)?|touchpoint|reply|update|message)\s+(?:was\s+)?(${DURATION})\s+ago\b`), apply: setDays('inactiveDays') },
  ...INACTIVE_PREFIXES.map((prefix) => ({ pattern: rx(R`\b${prefix}\s+(?:(?:in|for|within|during|over)\s+)?(${WINDOW})`), apply: setDays('inactiveDays') })),
  {
    pattern: rx(R`\b(${DURATION})\s+(?:of\s+)?(?:inactivity|inactive|silence|quiet|without\s+(?:any\s+)?(?:activity|an?\s+(?:reply|response)|replies|contact)|with\s+no\s+(?:activity|reply|response|contact)|since\s+(?:the\s+)?last\s+(?:activity|contact|touch|reply))`),
    apply: setDays('inactiveDays')
  },
  {
    // No "for" here: "activity for 2 weeks" is too close to "no activity for 2 weeks" to guess.
    pattern: rx(R`\b(?:active|activity|updates?|replied|responded|engaged|contacted|touched|heard\s+from(?:\s+(?:them|him|her))?|messaged|talked\s+to|updated|in\s+touch)\s+(?:(?:in|within|during|over)\s+)?(${WINDOW})`),
    apply: setDays('activeWithinDays')
  }
];

/** Dates the ledger does not hold (closing, appointment, the future): refused rather than read as first contact. */
const UNSUPPORTED_DATES: Rule[] = [
  {
    pattern: rx(R`\b(?:(?:(?:likely|expected|set|due)\s+)?to\s+close|closing|closes|close\s+date|due|(?:appointments?|booked|bookings?|scheduled)\s+(?:for|on))\s+(?:(?:on|by|in|within|during|before|after)\s+)?(?:${POINT}|(?:the\s+)?(?:next|coming)\s+\w+|tomorrow)|\b(?:tomorrow|(?:the\s+)?(?:next|coming)\s+(?:\d+\s+)?(?:days?|weeks?|months?|year|${WEEKDAY}))\b`),
    apply: (m, heard) => heard.refuse(`I can only search first contact and activity, which are in the past, not closing, appointment or future dates ("${heard.said(m)}").`, 'leads created this month')
  }
];

// ---------------------------------------------------------------------------------------------
// Action: anything asking for messages means drafts for a person to approve, never a send.

const THEM = R`(?:them(?:\s+all)?|each(?:\s+one)?(?:\s+of\s+them)?|every\s+one|everyone|all(?:\s+of\s+them)?|these|those)`;
const NOTE = R`(?:follow[- ]?ups?|messages?|repl(?:y|ies)|e-?mails?|texts?|notes?|nudges?|reminders?|whatsapps?|sms)`;
const draft = (_m: RegExpExecArray, heard: Heard) => heard.act('draft_follow_ups');

const ACTIONS: Rule[] = [
  {
    pattern: rx(R`\b(?:draft|write|prepare|compose|create|suggest)\s+(?:(?:a|an|the|some|my)\s+)?(?:(?:quick|short|personal(?:ised|ized)?|friendly)\s+)?${NOTE}(?:\s+(?:for|to)\s+${THEM})?`),
    apply: draft
  },
  { pattern: rx(R`\bsend\s+(?:${THEM}\s+)?(?:(?:a|an|some)\s+)?${NOTE}(?:\s+to\s+${THEM})?`), apply: draft },
  { pattern: rx(R`\bfollow[- ]?ups?(?:\s+(?:with|on|for)\s+${THEM})?`), apply: draft },
  { pattern: rx(R`\b(?:message|e-?mail|text|whatsapp|ping|nudge|chase|contact)\s+${THEM}(?:\s+up)?`), apply: draft },
  { pattern: rx(R`\b(?:reach\s+out(?:\s+to\s+${THEM})?|chase\s+up|get\s+back\s+to\s+${THEM})`), apply: draft }
];

// ---------------------------------------------------------------------------------------------
// Exceptions and score bands, before stages: "booked but not attended" is not "booked".

const AFTER_QUALIFYING = R`\s+(?:after|since)\s+(?:being\s+)?(?:qualification|qualifying|qualified)`;

const EXCEPTIONS: Rule[] = [
  {
    pattern: rx(R`\b(?:scores?\s+(?:has\s+|have\s+)?(?:dropped|drops?|fell|fallen|falling|dropping|went\s+down|gone\s+down|decreased|declined|dipped|tanked|plunged)|(?:dropping|falling|declining|dropped|fallen)\s+scores?|dropped\s+in\s+score)\b`),
    apply: exception('score_dropped')
  },
  {
    pattern: rx(R`\b(?:(?:(?:went|gone|going|have\s+gone|has\s+gone)\s+(?:silent|quiet|dark|cold)|ghost(?:ed|ing|s)?|stopped\s+(?:replying|responding|answering)|silent)(?:${AFTER_QUALIFYING})?|no\s+(?:reply|response)${AFTER_QUALIFYING})\b`),
    apply: exception('silent_after_qualification')
  },
  {
    pattern: rx(R`\b(?:booked\s+(?:but|and)\s+(?:not|never|didn'?t|did\s+not)\s+(?:attended|attend|show(?:ed)?(?:\s+up)?|turn(?:ed)?\s+up|came|come)|no[- ]?shows?|didn'?t\s+(?:show(?:\s+up)?|turn\s+up|attend|come\s+in)|did\s+not\s+(?:show(?:\s+up)?|turn\s+up|attend)|never\s+(?:showed|turned)\s+up|missed\s+(?:their\s+|the\s+|an?\s+)?(?:appointments?|bookings?|visits?)|not\s+attended)\b`),
    apply: exception('booked_not_attended')
  },
  {
    pattern: rx(R`\b(?:attended\s+(?:but|and)\s+(?:not|never)\s+(?:closed|won|decided|converted)|(?:attended|showed\s+up)\s+but\s+(?:didn'?t|did\s+not)\s+(?:close|buy|decide|convert|sign)|attended\s+(?:but\s+|and\s+|with\s+)?no\s+(?:outcome|decision)|no\s+(?:outcome|decision|result)|without\s+(?:an?\s+)?(?:outcome|decision)|(?:awaiting|pending)\s+(?:an?\s+)?(?:outcome|decision)|undecided)\b`),
    apply: exception('attended_no_outcome')
  },
  { pattern: rx(R`\b(?:stall(?:ed|ing|s)?|stuck|stagnant|not\s+(?:moving|progressing)|no\s+progress)\b`), apply: exception('stalled') }
];

/** "At risk" is every lead not likely to win: the medium and low bands (as LOCAL_PARSER_UNDERSTANDS says). */
const SCORES: Rule[] = [
  { pattern: rx(R`\bat[- ]risk\b|\brisky\b`), apply: bands('medium', 'low') },
  {
    pattern: rx(R`\b(?:hot|high[- ]?(?:scores?|scored|scoring|probability|chance|likelihood)|(?:scores?|scored|scoring)\s+high(?:ly)?|(?:likely|expected|set|about)\s+to\s+(?:win|close|convert|buy|sign)|good\s+chance)\b`),
    apply: bands('high')
  },
  {
    pattern: rx(R`\b(?:(?:luke)?warm|(?:medium|mid|moderate)[- ]?(?:scores?|scored|scoring|probability|chance|likelihood)|(?:scores?|scored|scoring)\s+medium)\b`),
    apply: bands('medium')
  },
  {
    pattern: rx(R`\b(?:cold|low[- ]?(?:scores?|scored|scoring|probability|chance|likelihood)|(?:scores?|scored|scoring)\s+low|(?:likely|expected|set|about|going)\s+to\s+(?:lose|be\s+lost|fail|churn|drop\s+off)|unlikely\s+to\s+(?:win|close|convert|buy|sign))\b`),
    apply: bands('low')
  }
];

// ---------------------------------------------------------------------------------------------
// First contact. A time window not right after an activity word lands here, so "new leads in the
// last 30 days" and "leads from last week" are about when the lead came in.

const COUNTED = R`(?:-\s*)?(?:\d+(?:\.\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s*\+?\s*(?:${UNIT})\b`;
/** Rolling: with a count, or "the last/past week"; a bare "last week" is the calendar week. */
const ROLLING = R`(?:the\s+)?(?:last|past)\s+${COUNTED}|(?:the\s+(?:last|past)|past)\s+(?:day|week|fortnight|month|year)\b`;

/** Sets first contact; a last day of today or later is left out, since nobody came in tomorrow. */
function setCreated(heard: Heard, said: string, from: number | undefined, to: number | undefined): void {
  if (from !== undefined) heard.setValue('createdFrom', isoDay(from), said);
  if (to !== undefined && to < todayOf(heard.now)) heard.setValue('createdTo', isoDay(to), said);
}

const daysBack = (m: RegExpExecArray, heard: Heard, text: string) => {
  const days = parseDuration(text, heard.said(m), heard);
  return days === undefined ? undefined : todayOf(heard.now) - days * DAY_MS;
};

const CREATED: Rule[] = [
  {
    pattern: rx(R`(?:\b(?:in|within|during|over|for|from)\s+)?\b(${ROLLING})`),
    apply: (m, heard) => {
      const day = daysBack(m, heard, m[1] ?? '');
      if (day === undefined) return false;
      setCreated(heard, heard.said(m), day, undefined);
    }
  },
  {
    pattern: rx(R`\b(?:(?:newer|younger)\s+than\s+(${DURATION})|(?:less\s+than|under)\s+(${DURATION})\s+old\b)|\b(?:older\s+than\s+(${DURATION})|(${DURATION})\s+old\b)`),
    apply: (m, heard) => {
      const isNewer = m[1] !== undefined || m[2] !== undefined;
      const day = daysBack(m, heard, m[1] ?? m[2] ?? m[3] ?? m[4] ?? '');
      if (day === undefined) return false;
      setCreated(heard, heard.said(m), isNewer ? day : undefined, isNewer ? undefined : day);
    }
  },
  {
    pattern: rx(R`\b(?:between\s+(${POINT})\s+and|from\s+(${POINT})\s+(?:to|until|till|through|-))\s+(${POINT})`),
    apply: (m, heard) => {
      const first = pointOrRefuse(m[1] ?? m[2] ?? '', heard.said(m), heard);
      const last = pointOrRefuse(m[3] ?? '', heard.said(m), heard);
      if (!first || !last) return false;
      setCreated(heard, heard.said(m), first.from, last.to);
    }
  },
  {
    pattern: rx(R`\b(since|from|after|starting(?:\s+from)?|as\s+of)\s+(${POINT})`),
    apply: (m, heard) => {
      const found = pointOrRefuse(m[2] ?? '', heard.said(m), heard);
      if (!found) return false;
      // "from last week" is that week; "from 3 Nov" is since that day.
      if (m[1] === 'after') setCreated(heard, heard.said(m), found.to + DAY_MS, undefined);
      else setCreated(heard, heard.said(m), found.from, m[1] === 'from' && !found.isOneDay ? found.to : undefined);
    }
  },
  {
    pattern: rx(R`\b(before|prior\s+to|earlier\s+than|until|till|til|up\s+to|through)\s+(${POINT})`),
    apply: (m, heard) => {
      const found = pointOrRefuse(m[2] ?? '', heard.said(m), heard);
      if (!found) return false;
      const isExclusive = /^(?:before|prior|earlier)/u.test(m[1] ?? '');
      setCreated(heard, heard.said(m), undefined, isExclusive ? found.from - DAY_MS : found.to);
    }
  },
  {
    pattern: rx(R`\b(?:(?:in|during|on)\s+(${POINT})|(today|yesterday|(?:this|last)\s+(?:week|month|year)|(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)))`),
    apply: (m, heard) => {
      const found = pointOrRefuse(m[1] ?? m[2] ?? '', heard.said(m), heard);
      if (!found) return false;
      setCreated(heard, heard.said(m), found.from, found.to);
    }
  }
];

// ---------------------------------------------------------------------------------------------
// Deal value. Comparators include the number: "over 50k" is a minimum of 50,000.

const CURRENCY_BEFORE = R`(?:[$€£]|(?:us|au|ca)\$|usd|eur|gbp|chf|aud|cad)`;
const CURRENCY_AFTER = R`(?:usd|eur|gbp|chf|aud|cad|dollars?|euros?|pounds?|bucks|quid)`;
const MULTIPLIER = R`(?:k|m|mm|mn|bn|b|thousand|million|billion|grand)`;
/** 50000, 50,000 or 50 000; the lookahead stops "30 days" being read as "3" then "0 days". */
const DIGITS = R`(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+|\d+)(?:\.\d+)?(?![\d,])`;
/** Not an amount when a time unit or a percent follows ("over 30 days" is a duration). */
const NOT_TIME = R`(?!\s*\+?\s*(?:(?:${UNIT}|hours?|hrs?|minutes?|mins?|percent)\b|%))`;
const AMOUNT = R`(?<![\d.,])(?:-\s*)?(?:${CURRENCY_BEFORE}\s*)?${DIGITS}(?:\s*${MULTIPLIER}\b)?(?:\s*${CURRENCY_AFTER}\b)?${NOT_TIME}`;
const AMOUNT_PARTS = new RegExp(R`^(-\s*)?(${CURRENCY_BEFORE}\s*)?(${DIGITS})(?:\s*(${MULTIPLIER}))?(\s*${CURRENCY_AFTER})?$`, 'u');
const MULTIPLIERS: Record<string, number> = { k: 1e3, thousand: 1e3, grand: 1e3, m: 1e6, mm: 1e6, mn: 1e6, million: 1e6, b: 1e9, bn: 1e9, billion: 1e9 };
/** leadFilterSchema's limit for money. */
const MAX_MONEY = 1e15;
/** Words that make a bare number a count, which the filter cannot do: "more than 3 bookings". */
const COUNTED_THINGS = /^(?:deals?|leads?|bookings?|appointments?|messages?|calls?|e-?mails?|texts?|repl(?:y|ies)|times|visits?|people|patients?|customers?|clients?|contacts?|opportunit(?:y|ies)|opps?|enquir(?:y|ies)|inquir(?:y|ies))$/u;
const WORTH = R`(?:(?:(?:deal|lead)\s+)?(?:value|size|amount)\s+(?:is\s+|of\s+)?|worth\s+|valued\s+at\s+)?`;
const NOT_NEGATED = R`(?<!\b(?:no|not)\s+)`;
const MIN_WORDS = R`(?:over|above|more\s+than|greater\s+than|bigger\s+than|larger\s+than|at\s+least|min(?:imum)?(?:\s+of)?|starting\s+(?:at|from)|north\s+of|upwards\s+of|in\s+excess\s+of|exceeding|no\s+less\s+than|not\s+less\s+than|>=?)`;
const MAX_WORDS = R`(?:under|below|less\s+than|smaller\s+than|lower\s+than|cheaper\s+than|at\s+most|max(?:imum)?(?:\s+of)?|up\s+to|no\s+more\s+than|not\s+more\s+than|beneath|south\s+of|<=?)`;

interface Amount {
  value: number;
  /** A currency, a k/m suffix or digit grouping was written: "1 to 5" alone is not money. */
  isClearlyMoney: boolean;
  /** "20.000" is 20 to some and 20,000 to others. */
  isAmbiguous: boolean;
}

function readAmount(text: string): Amount | undefined {
  const parts = AMOUNT_PARTS.exec(text.trim());
  if (!parts) return undefined;
  const [, minus, before, digits = '', multiplier, after] = parts;
  const value = Number(digits.replace(/[, ]/gu, '')) * (multiplier ? (MULTIPLIERS[multiplier] ?? 1) : 1);
  return {
    value: Math.round((minus ? -value : value) * 100) / 100,
    isClearlyMoney: Boolean(before || multiplier || after || /[, ]/u.test(digits)),
    isAmbiguous: !multiplier && /^\d{1,3}\.\d{3}$/u.test(digits)
  };
}

/** The amount in `text`, refusing unclear or impossible ones (20.000, negative, beyond any deal, a count of things). */
function checkedAmount(text: string, said: string, heard: Heard, end: number): number | undefined {
  const amount = readAmount(text);
  if (!amount) return undefined;
  if (amount.isAmbiguous) heard.refuse(`"${said}": I can't tell whether the dot marks decimals or thousands; write 20,000 or 20k.`, 'deals over 20k');
  else if (amount.value < 0) heard.refuse(`"${said}": a deal value can't be negative.`, 'deals over $5k');
  else if (amount.value > MAX_MONEY) heard.refuse(`"${said}" is more than any deal value I can search for.`, 'deals over $1m');
  else if (!amount.isClearlyMoney && COUNTED_THINGS.test(heard.nextWord(end))) {
    heard.refuse(`"${said} ${heard.nextWord(end)}": I can't count bookings or messages per lead, only deal values.`, 'booked deals over $5k');
  } else return amount.value;
  return undefined;
}

const setAmount = (field: 'minValue' | 'maxValue') => (m: RegExpExecArray, heard: Heard) => {
  const value = checkedAmount(m[1] ?? '', heard.said(m), heard, m.index + m[0].length);
  if (value === undefined) return false;
  heard.setValue(field, value, heard.said(m));
};

function setRange(m: RegExpExecArray, heard: Heard, needsMoneyWords: boolean): false | void {
  const [a, b] = [readAmount(m[1] ?? ''), readAmount(m[2] ?? '')];
  if (!a || !b || (needsMoneyWords && !a.isClearlyMoney && !b.isClearlyMoney)) return false;
  const said = heard.said(m);
  const end = m.index + m[0].length;
  const [low, high] = [checkedAmount(m[1] ?? '', said, heard, end), checkedAmount(m[2] ?? '', said, heard, end)];
  if (low === undefined || high === undefined) return false;
  heard.setValue('minValue', Math.min(low, high), said);
  heard.setValue('maxValue', Math.max(low, high), said);
}

const VALUE: Rule[] = [
  { pattern: rx(R`${WORTH}\b(?:between|from)\s+(${AMOUNT})\s+(?:and|to|-)\s+(${AMOUNT})`), apply: (m, heard) => setRange(m, heard, false) },
  { pattern: rx(R`${WORTH}(${AMOUNT})\s*(?:-|to)\s*(${AMOUNT})`), apply: (m, heard) => setRange(m, heard, true) },
  { pattern: rx(R`${NOT_NEGATED}${WORTH}${MIN_WORDS}\s*(${AMOUNT})\+?`), apply: setAmount('minValue') },
  { pattern: rx(R`${NOT_NEGATED}${WORTH}${MAX_WORDS}\s*(${AMOUNT})`), apply: setAmount('maxValue') },
  { pattern: rx(R`${WORTH}(${AMOUNT})\s*(?:\+|or\s+(?:more|above|over|higher|bigger)\b|and\s+(?:up|above|over|higher)\b|plus\b)`), apply: setAmount('minValue') },
  { pattern: rx(R`${WORTH}(${AMOUNT})\s+(?:or\s+(?:less|under|below|lower|smaller)|and\s+(?:under|below|less|lower))\b`), apply: setAmount('maxValue') },
  { pattern: rx(R`\b(?:worth|valued\s+at|(?:with\s+)?a\s+value\s+of)\s+(${AMOUNT})`), apply: setAmount('minValue') }
];

// ---------------------------------------------------------------------------------------------
// Owner, intent, stages, channels, and the subject nouns.

const OWNER_CUE = R`(?:assigned\s+to|owned\s+by|claimed\s+by|belonging\s+to|handled\s+by|managed\s+by|worked\s+(?:on\s+)?by|owner\s+(?:is\s+)?)`;

const OWNERS: Rule[] = [
  {
    pattern: rx(R`\b(?:unassigned|unclaimed|unowned|not\s+(?:yet\s+)?(?:assigned|claimed|owned)(?:\s+to\s+anyone)?|no(?:body|\s+one)'?s|nobody\s+owns|no\s+owner|without\s+(?:an?\s+)?owner|${OWNER_CUE}\s*(?:nobody|no\s+one))\b`),
    apply: (m, heard) => heard.setValue('owner', { kind: 'unassigned' }, heard.said(m))
  },
  {
    pattern: rx(R`\b(?:${OWNER_CUE}\s*me|my|mine|i\s+(?:own|claimed|have\s+claimed|am\s+working(?:\s+on)?)|i'm\s+working(?:\s+on)?)\b`),
    apply: (m, heard) => heard.setValue('owner', { kind: 'me' }, heard.said(m))
  },
  {
    // Only after a cue, so a capitalised word elsewhere is never taken for a name.
    pattern: rx(R`\b${OWNER_CUE}\s*`),
    apply: (m, heard) => {
      const name = heard.wordsAfter(m.index + m[0].length, 3);
      if (!name) return false;
      heard.setValue('owner', { kind: 'named', name: name.original }, `${heard.said(m)} ${name.original}`);
      return { end: name.end };
    }
  },
  {
    // "Ana's deals", "Ana Lima's hot leads": only when a lead noun follows within three words.
    pattern: rx(R`(?<![\p{L}\p{M}'-])([\p{L}][\p{L}\p{M}-]*)'s\b(?=(?:\s+\S+){0,3}?\s+(?:${SUBJECT})\b)`),
    apply: (m, heard) => {
      const name = heard.possessiveName(m.index, m[1] ?? '');
      if (!name) return false;
      heard.setValue('owner', { kind: 'named', name: name.original }, `${name.original}'s`);
      return { start: name.start };
    }
  }
];

const setIntent = (m: RegExpExecArray, heard: Heard) => {
  const words = heard.wordsAfter(m.index + m[0].length, 3, true);
  if (!words) return false;
  heard.setValue('intent', words.lower, `${heard.said(m)} ${words.original}`);
  return { end: words.end };
};

const INTENT: Rule[] = [
  {
    pattern: rx(R`\b(?:about|regarding|interested\s+in|wanting|(?:who|that)\s+wants?|(?:who|that)\s+wanted|looking\s+for|ask(?:ing|ed)\s+(?:about|for)|(?:enquir|inquir)(?:ed|ing)\s+(?:about|for)|with\s+(?:an?\s+)?intent\s+(?:of|to)|intent(?:\s+is)?)\s+`),
    apply: setIntent
  },
  // "for X" only right after a lead noun: "follow up for each" and "for 10 days" are not intents.
  { pattern: rx(R`(?<=\b(?:${SUBJECT}|enquiries|inquiries|bookings|appointments)\s+)for\s+`), apply: setIntent }
];

const STAGES: Rule[] = [
  { pattern: rx(R`\bclosed[- ]won\b`), apply: stages('won') },
  { pattern: rx(R`\bclosed[- ]lost\b`), apply: stages('lost') },
  { pattern: rx(R`\bclosed\b`), apply: stages('won', 'lost') },
  { pattern: rx(R`\b(?:open|in[- ]progress|ongoing)\b`), apply: stages('enquired', 'qualified', 'booked', 'attended') },
  { pattern: rx(R`\bnew\b`), apply: (_m, heard) => heard.markNew() },
  { pattern: rx(R`\b(?:enquir(?:ed|y|ies)|inquir(?:ed|y|ies))\b`), apply: stages('enquired') },
  { pattern: rx(R`\b(?:qualified|(?:in\s+)?qualification)\b`), apply: stages('qualified') },
  { pattern: rx(R`\b(?:booked|bookings?|appointments?|appts?|scheduled)\b`), apply: stages('booked') },
  { pattern: rx(R`\b(?:attended|showed\s+up|turned\s+up)\b`), apply: stages('attended') },
  { pattern: rx(R`\b(?:won(?!'t)|wins|converted)\b`), apply: stages('won') },
  { pattern: rx(R`\b(?:lost|losses|dead)\b`), apply: stages('lost') }
];

const VIA = R`(?:(?:via|by|from|on|over|through|in)\s+)?`;
const CHANNELS: Rule[] = [
  { pattern: rx(R`\b${VIA}(?:whats[- ]?app|what'?s\s+app|wa|wapp)\b`), apply: channel('whatsapp') },
  { pattern: rx(R`\b${VIA}(?:(?:facebook|fb)(?:\s+messenger)?|messenger)\b`), apply: channel('messenger') },
  { pattern: rx(R`\b${VIA}(?:(?:web(?:site)?|site|live|online)[- ]?chats?|chat[- ]?widget|chats?)\b`), apply: channel('webchat') },
  { pattern: rx(R`\b${VIA}(?:(?:tele)?phones?(?:\s+calls?)?|calls?|phoned(?:\s+in)?|called\s+in)\b`), apply: channel('phone') },
  { pattern: rx(R`\b${VIA}(?:e-?mails?|mail)\b`), apply: channel('email') },
  { pattern: rx(R`\b${VIA}(?:sms|txt|text(?:[- ]messages?|s)?)\b`), apply: channel('sms') }
];

const SUBJECTS: Rule[] = [{ pattern: rx(R`\b(?:${SUBJECT})\b`), apply: () => undefined }];

/** In this order; see the note at the top of the file. */
export const RULE_GROUPS: readonly (readonly Rule[])[] = [
  ACTIVITY,
  UNSUPPORTED_DATES,
  ACTIONS,
  EXCEPTIONS,
  SCORES,
  CREATED,
  VALUE,
  OWNERS,
  INTENT,
  STAGES,
  CHANNELS,
  SUBJECTS
];

// ---------------------------------------------------------------------------------------------
// Words that are not filters.

/** Filler a rep types around a question ("show me all the … that have … for each"); never reported as ignored. */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    "a an the all any some every each both either one ones me i i'd i'm i've we us our you your it its it's they them their " +
    "these those this that which who whom whose what what's whats where when show list find get give pull up display see view " +
    "fetch bring look tell select please pls can could would will should may might must let let's lets need want like just " +
    'only also still currently now right do does did done is are was were be been being am have has had having got with and ' +
    'or but for of to from in on at by into onto via as than then so too very really over under above below between within ' +
    'during since before after until till about around last past ago more less most least there here own everyone everybody ' +
    'everything anything stuff things people person yet already ever again created added came arrived received first stage ' +
    'stages status channel channels source same other others hi hey hello thanks thank ok okay go through out etc kind sort type s'
  ).split(' ')
);

/** Words that reverse the meaning of what follows; the parser can't exclude, so it says so rather than ignore them. */
export const NEGATION = /^(?:not|no|never|none|without|except|excluding|exclude|non|nor|neither|(?:is|are|was|were|have|has|had|do|does|did|ca|could|would|should)n'?t)$/u;

/** Verbs asking to change or take data out; the query bar only reads. */
export const WRITE_VERB =
  /^(?:delete|deleting|remove|removing|drop|truncate|update|updating|modify|modifying|edit|editing|alter|erase|wipe|purge|destroy|export|exporting|download|insert|overwrite|reassign|assign|archive|merge|rename|change)$/u;

/** Input that looks like SQL rather than a sentence ("select the hot deals from last week" is a sentence). */
export const SQL_LIKE: readonly RegExp[] = [
  /\bselect\s+(?:\*|distinct\b|count\s*\(|[\w.]+\s*,)/iu,
  /\bselect\b[\s\S]*\bfrom\b[\s\S]*\b(?:where|limit|order\s+by|group\s+by|join)\b/iu,
  /\b(?:insert\s+into|delete\s+from|drop\s+(?:table|database|view)|alter\s+table|create\s+table|truncate\s+table|union\s+(?:all\s+)?select)\b/iu,
  /\bwhere\s+\w+\s*(?:=|<>|!=|\blike\b|\bin\s*\()/iu,
  /'\s*or\s+'?\d+'?\s*=\s*'?\d+/iu
];

/** Words that end a name or an intent ("assigned to Ana on whatsapp"): lead, channel and stage words and filler. */
export const NAME_STOPPERS: ReadonlySet<string> = new Set([
  ...STOP_WORDS,
  ...'deal deals lead leads opportunity opportunities opp opps prospect prospects contact contacts customer customers client clients patient patients pipeline inbox conversations'.split(' '),
  ...'whatsapp wa messenger facebook fb webchat web website chat chats phone phones call calls email e-mail emails mail sms text texts'.split(' '),
  ...'new enquired enquiry enquiries inquired inquiry inquiries qualified booked booking bookings appointment appointments attended won lost closed open'.split(' '),
  ...'hot cold warm me nobody today yesterday tomorrow week month year team company clinic'.split(' ')
]);
