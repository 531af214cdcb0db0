import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leadQuerySchema, type LeadFilter, type LeadQuery } from '../../../../../src/lib/contracts/lead-query';
import { LOCAL_PARSER_UNDERSTANDS, parseLocally } from '../../../../../src/lib/server/ask/local-parser';

/** Wednesday 18 November 2026, 15:30 UTC: Monday was the 16th, last week ran 9–15 November. */
const NOW = Date.UTC(2026, 10, 18, 15, 30);
const OPEN = ['enquired', 'qualified', 'booked', 'attended'] as const;

type Row = [text: string, filter: LeadFilter, action?: LeadQuery['action'], ignored?: string[]];

const UNDERSTOOD: Row[] = [
  // The issue's own sentence.
  ["Show me all deals over $50k that haven't had activity in 14 days and draft a follow-up for each", { minValue: 50_000, inactiveDays: 14 }, 'draft_follow_ups'],
  // Value.
  ['more than 50,000', { minValue: 50_000 }],
  ['deals above €20k', { minValue: 20_000 }],
  ['at least 10k', { minValue: 10_000 }],
  ['leads under 5k', { maxValue: 5_000 }],
  ['less than $1,000', { maxValue: 1_000 }],
  ['between 20k and 50k', { minValue: 20_000, maxValue: 50_000 }],
  ['worth 50k+', { minValue: 50_000 }],
  ['deals worth £1.5m or more', { minValue: 1_500_000 }],
  ['EUR 20k to 40k deals', { minValue: 20_000, maxValue: 40_000 }],
  ['deal value > 2,500.50 usd', { minValue: 2_500.5 }],
  ['over 50 000', { minValue: 50_000 }],
  ['big deals over 10k', { minValue: 10_000 }, 'list', ['big']],
  // Inactivity and recent activity.
  ['no activity in 14 days', { inactiveDays: 14 }],
  ["leads that haven't had activity in 2 weeks", { inactiveDays: 14 }],
  ['quiet for 10 days', { inactiveDays: 10 }],
  ['silent for a week', { inactiveDays: 7 }],
  ['inactive 30+ days', { inactiveDays: 30 }],
  ['not touched in a month', { inactiveDays: 30 }],
  ['no reply for 3 days', { inactiveDays: 3 }],
  ['deals with no activity for over three weeks', { inactiveDays: 21 }],
  ['last contact more than 10 days ago', { inactiveDays: 10 }],
  ['deals without activity for 2 weeks', { inactiveDays: 14 }],
  ['inactive since 1 Nov', { inactiveDays: 18 }],
  ['active in the last 7 days', { activeWithinDays: 7 }],
  ['leads with activity this week', { activeWithinDays: 7 }],
  ['replied since Monday', { activeWithinDays: 3 }],
  // "in the last N days": after an activity word it is activity, otherwise first contact.
  ['in the last 30 days', { createdFrom: '2026-10-19' }],
  ['new leads in the last 30 days', { createdFrom: '2026-10-19' }],
  ['leads active in the last 30 days', { activeWithinDays: 30 }],
  // First contact.
  ['since Monday', { createdFrom: '2026-11-16' }],
  ['leads since 2026-11-01', { createdFrom: '2026-11-01' }],
  ['created this month', { createdFrom: '2026-11-01' }],
  ['leads from last week', { createdFrom: '2026-11-09', createdTo: '2026-11-15' }],
  ['enquiries in October', { stages: ['enquired'], createdFrom: '2026-10-01', createdTo: '2026-10-31' }],
  ['before 1 Nov', { createdTo: '2026-10-31' }],
  ['since December', { createdFrom: '2025-12-01' }],
  ['yesterday', { createdFrom: '2026-11-17', createdTo: '2026-11-17' }],
  ['deals older than 30 days', { createdTo: '2026-10-19' }],
  ['between 3 Nov and Nov 10th', { createdFrom: '2026-11-03', createdTo: '2026-11-10' }],
  // Stages.
  ['new enquiries', { stages: ['enquired'] }],
  ['new leads', { stages: ['enquired'] }],
  ['qualified leads', { stages: ['qualified'] }],
  ['patients who showed up', { stages: ['attended'] }],
  ['closed won deals', { stages: ['won'] }],
  ['closed-lost', { stages: ['lost'] }],
  ['won or lost', { stages: ['won', 'lost'] }],
  ['open deals', { stages: [...OPEN] }],
  ['opportunities', {}],
  // Channels.
  ['bookings from whatsapp', { stages: ['booked'], channels: ['whatsapp'] }],
  ['appointments via fb', { stages: ['booked'], channels: ['messenger'] }],
  ['whats app leads', { channels: ['whatsapp'] }],
  ['website chat or phone calls', { channels: ['webchat', 'phone'] }],
  ['e-mail and text message leads', { channels: ['email', 'sms'] }],
  ['wa leads by phone', { channels: ['whatsapp', 'phone'] }],
  // Owner.
  ['my hot leads', { owner: { kind: 'me' }, scoreBands: ['high'] }],
  ['leads assigned to me', { owner: { kind: 'me' } }],
  ['unassigned deals', { owner: { kind: 'unassigned' } }],
  ["nobody's leads", { owner: { kind: 'unassigned' } }],
  ['deals owned by Ana', { owner: { kind: 'named', name: 'Ana' } }],
  ["Ana's leads", { owner: { kind: 'named', name: 'Ana' } }],
  ['assigned to Ana Lima on whatsapp', { owner: { kind: 'named', name: 'Ana Lima' }, channels: ['whatsapp'] }],
  ["Ana's hot list", { scoreBands: ['high'] }, 'list', ["Ana's"]],
  // Score bands.
  ['likely to win', { scoreBands: ['high'] }],
  ['cold leads', { scoreBands: ['low'] }],
  ['deals likely to lose', { scoreBands: ['low'] }],
  ['at risk deals', { scoreBands: ['medium', 'low'] }],
  ['medium score', { scoreBands: ['medium'] }],
  // Exceptions.
  ['leads that went silent', { exceptionKinds: ['silent_after_qualification'] }],
  ['ghosted after qualification', { exceptionKinds: ['silent_after_qualification'] }],
  ['stalled or stuck deals', { exceptionKinds: ['stalled'] }],
  ['no-shows', { exceptionKinds: ['booked_not_attended'] }],
  ["booked but didn't show up", { exceptionKinds: ['booked_not_attended'] }],
  ['attended but not closed', { exceptionKinds: ['attended_no_outcome'] }],
  ['score dropped', { exceptionKinds: ['score_dropped'] }],
  ['deals whose score fell', { exceptionKinds: ['score_dropped'] }],
  // Intent.
  ['leads about implants', { intent: 'implants' }],
  ['interested in teeth whitening over 5k', { intent: 'teeth whitening', minValue: 5_000 }],
  ['deals for botox', { intent: 'botox' }],
  // Actions.
  ['stalled deals, follow up with them', { exceptionKinds: ['stalled'] }, 'draft_follow_ups'],
  ['send them a message: hot whatsapp leads', { scoreBands: ['high'], channels: ['whatsapp'] }, 'draft_follow_ups'],
  ['write follow-ups for qualified leads', { stages: ['qualified'] }, 'draft_follow_ups'],
  // Case, punctuation and what is left over.
  ['SHOW ME HOT DEALS!!!', { scoreBands: ['high'] }],
  ['select the hot deals from whatsapp', { scoreBands: ['high'], channels: ['whatsapp'] }],
  ["this week's new leads", { createdFrom: '2026-11-16' }],
  ['deals in Paris with a discount', {}, 'list', ['in Paris', 'with a discount']],
  [
    'My open WhatsApp deals over 50k, quiet for 2 weeks, new this month - draft follow-ups',
    { owner: { kind: 'me' }, stages: [...OPEN], channels: ['whatsapp'], minValue: 50_000, inactiveDays: 14, createdFrom: '2026-11-01' },
    'draft_follow_ups'
  ]
];

describe('parseLocally understands', () => {
  it.each(UNDERSTOOD)('%s', (text, filter, action = 'list', ignored = []) => {
    expect(parseLocally(text, NOW)).toEqual({ ok: true, query: { filter, action }, source: 'local', ignored });
  });

  it('gives queries that leadQuerySchema parses unchanged, for every row', () => {
    for (const [text] of UNDERSTOOD) {
      const result = parseLocally(text, NOW);
      if (!result.ok) throw new Error(`refused "${text}": ${result.message}`);
      expect(leadQuerySchema.parse(result.query)).toEqual(result.query);
    }
  });

  it('reads a window after an activity word as activity and elsewhere as first contact', () => {
    const activity = parseLocally('activity in the last 14 days', NOW);
    const created = parseLocally('came in the last 14 days', NOW);
    expect(activity.ok && activity.query.filter).toEqual({ activeWithinDays: 14 });
    expect(created.ok && created.query.filter).toEqual({ createdFrom: '2026-11-04' });
  });
});

/** [sentence, words the refusal must quote]. */
const REFUSED: [text: string, quoted: string][] = [
  ['', 'question about your leads'],
  ['   ', 'question about your leads'],
  ['delete all lost leads', '"delete all lost leads"'],
  ['drop table events', '"drop table events"'],
  ['select * from events', '"select * from events"'],
  ['export my leads', '"export my leads"'],
  ['please update the stage of these deals', '"update the stage of"'],
  ["what's the weather", `"what's the weather"`],
  ['over 50k under 10k', '"over 50k" and "under 10k"'],
  ['no activity in 14 days but active in the last 7 days', '"no activity in 14 days" and "active in the last 7 days"'],
  ['since 2026-11-10 until 2026-11-01', '"since 2026-11-10" and "until 2026-11-01"'],
  ['over 50k and over 20k', '"over 50k" and "over 20k"'],
  ['inactive -3 days', '"inactive -3 days"'],
  ['no activity in 0 days', '"no activity in 0 days"'],
  ['inactive for 20 years', '"inactive for 20 years"'],
  ['deals over $5,000,000,000,000,000', '"over $5,000,000,000,000,000"'],
  ['leads since 31 Nov', '"since 31 Nov"'],
  ['deals that are not hot', '"not hot"'],
  ['everything except lost leads', '"except lost"'],
  ['show me all', '"show me all"'],
  ['deals over €20.000', '"over €20.000"'],
  ['more than 3 bookings', '"more than 3 bookings"'],
  ['deals closing this month', '"closing this month"'],
  ['appointments next week', '"next week"']
];

describe('parseLocally refuses', () => {
  it.each(REFUSED)('%j', (text, quoted) => {
    const result = parseLocally(text, NOW);
    if (result.ok) throw new Error(`understood "${text}" as ${JSON.stringify(result.query)}`);
    expect(result.message).toContain(quoted);
    const example = /Try something like "([^"]+)"\.$/u.exec(result.message)?.[1];
    expect(example, result.message).toBeDefined();
    // The suggested phrasing must itself work.
    expect(parseLocally(example ?? '', NOW)).toMatchObject({ ok: true, ignored: [] });
  });

  it('refuses text longer than the ask endpoint accepts', () => {
    expect(parseLocally(`hot deals ${'x'.repeat(500)}`, NOW)).toMatchObject({ ok: false, message: expect.stringContaining('at most 500') });
  });
});

describe('LOCAL_PARSER_UNDERSTANDS', () => {
  it('lists examples that the parser understands', () => {
    const lines = LOCAL_PARSER_UNDERSTANDS.filter((line) => !/^(?:refused|anything else)/u.test(line));
    const examples = lines.flatMap((line) => [...line.matchAll(/"([^"]+)"/gu)].map((m) => m[1] ?? ''));
    expect(examples.length).toBeGreaterThan(30);
    for (const example of examples) expect(parseLocally(example, NOW), example).toMatchObject({ ok: true });
  });
});

describe('parseLocally on any input', () => {
  const fragments = [
    'show me', 'deals', 'over', '$50k', 'under', '10k', 'between', 'and', 'no activity in', '14 days', 'a week', 'since',
    'Monday', '2026-11-01', '1 Nov', 'in November', 'before', 'last week', 'hot', 'cold', 'at risk', 'my', 'unassigned',
    'owned by', 'Ana', "Ana's", 'whatsapp', 'email', 'chat', 'qualified', 'new', 'open', 'closed', 'no-show', 'stalled',
    'about', 'implants', 'draft a follow-up for each', 'not', 'except', 'delete', '-3', '0', '1e99', '|', "'", ',', '.', '+',
    '€', '£', 'in the last', 'for', 'worth', 'Zoë', 'İstanbul', '😀', '\u0000', '\ud800'
  ];
  const sentences = fc.oneof(
    fc.string({ maxLength: 500 }),
    fc.string({ maxLength: 500, unit: 'grapheme' }),
    fc.array(fc.constantFrom(...fragments), { maxLength: 40 }).map((words) => words.join(' ').slice(0, 500))
  );

  it('never throws, and an answer it gives passes leadQuerySchema unchanged', () => {
    fc.assert(
      fc.property(sentences, (text) => {
        const result = parseLocally(text, NOW);
        if (result.ok) {
          expect(leadQuerySchema.parse(result.query)).toEqual(result.query);
          expect(result.source).toBe('local');
        } else {
          expect(result.message).toMatch(/Try something like "[^"]+"\.$/u);
        }
      }),
      { seed: 20261118, numRuns: 3_000 }
    );
  });
});
