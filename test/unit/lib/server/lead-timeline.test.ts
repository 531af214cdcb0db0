import { describe, expect, it } from 'vitest';
import type { TimelineEntry } from '../../../../src/lib/contracts/leads';
import type { ConversationSection, TimelineSection } from '../../../../src/lib/contracts/timeline';
import { buildTimeline } from '../../../../src/lib/server/lead-timeline';

const T0 = Date.UTC(2026, 10, 2, 9, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const NOW = T0 + 30 * 24 * HOUR;
const names = new Map([
  ['u-rosa', 'Rosa Rep'],
  ['u-maya', 'Maya Manager']
]);

let seq = 0;
/** A ledger row as leadTimeline returns it; a test states only what it cares about. */
function entry(over: Partial<TimelineEntry> & Pick<TimelineEntry, 'type'>): TimelineEntry {
  seq++;
  return {
    eventId: `e${String(seq).padStart(3, '0')}`,
    channel: '',
    stage: '',
    intent: '',
    actor: 'agent',
    summary: '',
    text: '',
    value: 0,
    currency: '',
    occurredAt: T0,
    properties: {},
    ...over
  };
}
const message = (channel: string, minutes: number, direction: 'inbound' | 'outbound', text: string, over: Partial<TimelineEntry> = {}) =>
  entry({ type: 'message', channel, occurredAt: T0 + minutes * MIN, actor: direction === 'inbound' ? 'customer' : 'agent', text, properties: { direction, text }, ...over });

const kinds = (sections: TimelineSection[]) => sections.map((s) => `${s.kind}:${s.id}`);
const conversationsOf = (sections: TimelineSection[]) => sections.filter((s): s is ConversationSection => s.kind === 'conversation');

describe('buildTimeline', () => {
  it('keeps two interleaved channels as one conversation each, in time order', () => {
    const wa1 = message('whatsapp', 0, 'inbound', 'Hi, how much is whitening?');
    const mail1 = message('email', 5, 'inbound', 'Sending my X-ray as asked');
    const wa2 = message('whatsapp', 10, 'outbound', 'From €250. Shall I book you?');
    const mail2 = message('email', 20, 'outbound', 'Thanks, received');
    const wa3 = message('whatsapp', 30, 'inbound', 'Yes please');
    const view = buildTimeline([wa1, mail1, wa2, mail2, wa3], names, NOW);
    expect(kinds(view.sections)).toEqual([`conversation:${wa1.eventId}`, `conversation:${mail1.eventId}`]);
    const [wa, mail] = conversationsOf(view.sections);
    expect(wa?.messages.map((m) => m.eventId)).toEqual([wa1.eventId, wa2.eventId, wa3.eventId]);
    expect(mail?.messages.map((m) => m.eventId)).toEqual([mail1.eventId, mail2.eventId]);
    expect(wa).toMatchObject({ channel: 'whatsapp', at: wa1.occurredAt, endAt: wa3.occurredAt });
    expect(wa?.messages[1]).toEqual({ eventId: wa2.eventId, at: wa2.occurredAt, direction: 'outbound', by: { kind: 'agent', name: 'AI agent' }, text: 'From €250. Shall I book you?' });
    expect(view.messageCount).toBe(5);
  });

  it('starts a new conversation on the same channel after 12 hours of silence', () => {
    const a = message('sms', 0, 'inbound', 'Hello');
    const b = message('sms', 11 * 60 + 59, 'inbound', 'Still there?');
    const c = message('sms', 11 * 60 + 59 + 12 * 60, 'inbound', 'Back again');
    const view = buildTimeline([a, b, c], names, NOW);
    expect(conversationsOf(view.sections).map((s) => s.messages.map((m) => m.eventId))).toEqual([[a.eventId, b.eventId], [c.eventId]]);
  });

  it("heads a conversation with the AI's qualification, else its summary of the customer, else the customer's first words", () => {
    const opener = message('whatsapp', 0, 'inbound', 'Hi, I am interested in Invisalign', { summary: 'Customer asked about Invisalign' });
    const qualified = entry({ type: 'lead_qualified', channel: 'whatsapp', intent: 'invisalign assessment', summary: 'Wants Invisalign, evenings only', occurredAt: T0 + 60 * MIN, properties: { confidence: 0.9 } });
    const summarised = message('email', 2 * 24 * 60, 'inbound', 'hello?', { summary: 'Customer asked about a consultation' });
    const bare = message('sms', 4 * 24 * 60, 'inbound', `  Hi there, ${'really '.repeat(30)}long question  `);
    const view = buildTimeline([opener, qualified, summarised, bare], names, NOW);
    expect(conversationsOf(view.sections).map((c) => c.gist)).toEqual([
      { text: 'Wants Invisalign, evenings only', source: 'ai', eventId: qualified.eventId },
      { text: 'Customer asked about a consultation', source: 'ai', eventId: summarised.eventId },
      { text: `Hi there, ${'really '.repeat(15)}real…`, source: 'customer', eventId: bare.eventId }
    ]);
  });

  it('does not give a conversation the qualification of the next one', () => {
    const first = message('whatsapp', 0, 'inbound', 'Hello');
    const second = message('email', 60, 'inbound', 'About whitening');
    const qualified = entry({ type: 'lead_qualified', intent: 'teeth whitening', summary: 'Qualified: teeth whitening', occurredAt: T0 + 61 * MIN });
    const [a, b] = conversationsOf(buildTimeline([first, second, qualified], names, NOW).sections);
    expect(a?.gist).toEqual({ text: 'Hello', source: 'customer', eventId: first.eventId });
    expect(b?.gist).toEqual({ text: 'Qualified: teeth whitening', source: 'ai', eventId: qualified.eventId });
  });

  it("shows a person's stage correction as corrected by that person, from the AI's stage", () => {
    const enquired = entry({ type: 'stage_changed', stage: 'enquired', occurredAt: T0 });
    const booked = entry({ type: 'stage_changed', stage: 'booked', occurredAt: T0 + HOUR });
    const fixed = entry({ type: 'stage_changed', stage: 'qualified', actor: 'human:u-maya', occurredAt: T0 + 2 * HOUR, properties: { correction: 'stage', from: 'booked' } });
    const view = buildTimeline([enquired, booked, fixed], names, NOW);
    expect(view.sections.at(-1)).toEqual({
      kind: 'stage',
      id: fixed.eventId,
      at: fixed.occurredAt,
      from: 'booked',
      to: 'qualified',
      by: { kind: 'person', name: 'Maya Manager' },
      corrected: true
    });
    expect(view.stageHistory).toEqual([
      { stage: 'enquired', at: T0, by: 'AI agent', corrected: false },
      { stage: 'booked', at: T0 + HOUR, by: 'AI agent', corrected: false },
      { stage: 'qualified', at: T0 + 2 * HOUR, by: 'Maya Manager', corrected: true }
    ]);
  });

  it("names the authors of notes, claims and assignments, and a removed user as 'a former user'", () => {
    const note = entry({ type: 'note_added', actor: 'human:u-rosa', occurredAt: T0, properties: { text: 'Prefers calls after 6' } });
    const claim = entry({ type: 'lead_assigned', actor: 'human:u-rosa', occurredAt: T0 + MIN, properties: { ownerId: 'u-rosa', via: 'claim' } });
    const assign = entry({ type: 'lead_assigned', actor: 'human:u-gone', occurredAt: T0 + 2 * MIN, properties: { ownerId: 'u-maya' } });
    const snooze = entry({ type: 'lead_snoozed', actor: 'human:u-maya', occurredAt: T0 + 3 * MIN, properties: { until: NOW + HOUR } });
    const view = buildTimeline([note, claim, assign, snooze], names, NOW);
    const rosa = { kind: 'person', name: 'Rosa Rep' } as const;
    expect(view.sections).toEqual([
      { kind: 'note', id: note.eventId, at: note.occurredAt, by: rosa, text: 'Prefers calls after 6' },
      { kind: 'human', id: claim.eventId, at: claim.occurredAt, action: 'claimed', by: rosa, ownerName: '', until: null, isActive: false },
      { kind: 'human', id: assign.eventId, at: assign.occurredAt, action: 'assigned', by: { kind: 'person', name: 'a former user' }, ownerName: 'Maya Manager', until: null, isActive: false },
      { kind: 'human', id: snooze.eventId, at: snooze.occurredAt, action: 'snoozed', by: { kind: 'person', name: 'Maya Manager' }, ownerName: '', until: NOW + HOUR, isActive: true }
    ]);
  });

  it('shows an event delivered twice once', () => {
    const stage = entry({ type: 'stage_changed', stage: 'enquired' });
    const msg = message('webchat', 1, 'inbound', 'Hi');
    const view = buildTimeline([stage, msg, { ...stage }, { ...msg }], names, NOW);
    expect(kinds(view.sections)).toEqual([`stage:${stage.eventId}`, `conversation:${msg.eventId}`]);
    expect(conversationsOf(view.sections)[0]?.messages).toHaveLength(1);
    expect(view.stageHistory).toHaveLength(1);
  });

  it('sorts rows that arrive out of order', () => {
    const first = message('whatsapp', 0, 'inbound', 'Hi');
    const stage = entry({ type: 'stage_changed', stage: 'qualified', occurredAt: T0 + 5 * MIN });
    const second = message('whatsapp', 2, 'outbound', 'Hello!');
    const won = entry({ type: 'deal_won', value: 300, currency: 'EUR', occurredAt: T0 + 3 * 24 * HOUR });
    const view = buildTimeline([won, stage, second, first], names, NOW);
    expect(kinds(view.sections)).toEqual([`conversation:${first.eventId}`, `stage:${stage.eventId}`, `outcome:${won.eventId}`]);
    expect(conversationsOf(view.sections)[0]?.messages.map((m) => m.text)).toEqual(['Hi', 'Hello!']);
  });

  it('folds delivery into the approved follow-up and keeps unknown rows visible', () => {
    const approved = entry({
      type: 'follow_up_approved',
      actor: 'human:u-rosa',
      properties: { approvalId: 'ap-1', text: 'Still keen on Tuesday?', channel: 'sms', edited: 'true', delivery: 'pending' }
    });
    const sent = entry({ type: 'follow_up_sent', actor: 'system', occurredAt: T0 + MIN, properties: { approvalId: 'ap-1' } });
    const odd = entry({ type: 'crm_synced', summary: 'Synced to HubSpot', occurredAt: T0 + 2 * MIN });
    const view = buildTimeline([approved, sent, odd], names, NOW);
    expect(view.sections).toEqual([
      {
        kind: 'follow_up',
        id: approved.eventId,
        at: approved.occurredAt,
        approvalId: 'ap-1',
        by: { kind: 'person', name: 'Rosa Rep' },
        channel: 'sms',
        subject: '',
        text: 'Still keen on Tuesday?',
        edited: true,
        delivery: 'sent',
        deliveredAt: T0 + MIN,
        deliveryDetail: ''
      },
      { kind: 'other', id: odd.eventId, at: odd.occurredAt, type: 'crm_synced', summary: 'Synced to HubSpot', by: { kind: 'agent', name: 'AI agent' } }
    ]);
  });
});
