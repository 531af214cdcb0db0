import { stages } from '../contracts/events';
import type { DeliveryState } from '../contracts/follow-ups';
import { CORRECTION_PROPERTY, leadEventTypes, type TimelineEntry } from '../contracts/leads';
import { exceptionEventTypes } from '../contracts/exceptions';
import type {
  ConversationSection,
  HumanAction,
  StageStep,
  TimelineAuthor,
  TimelineSection,
  TimelineView
} from '../contracts/timeline';

/**
 * A lead's ledger rows as the reviewer reads them (issue 7, item 2). Pure: the caller reads the
 * rows, the organisation's user names and the clock.
 */

/** Messages on one channel closer together than this are one conversation. */
export const CONVERSATION_GAP_MS = 12 * 3_600_000;
/** A customer's first words stand in for a missing AI summary, cut to this many characters. */
const GIST_LENGTH = 120;

const str = (e: TimelineEntry, key: string): string => {
  const v = e.properties[key];
  return typeof v === 'string' ? v : '';
};
const num = (e: TimelineEntry, key: string): number | null => {
  const v = e.properties[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};
/** An ISO instant or epoch ms from the properties, as epoch ms. */
const instant = (e: TimelineEntry, key: string): number | null => {
  const v = e.properties[key];
  const ms = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isFinite(ms) ? ms : null;
};

function authorOf(actor: string, names: ReadonlyMap<string, string>): TimelineAuthor {
  if (actor === 'agent') return { kind: 'agent', name: 'AI agent' };
  if (actor === 'customer') return { kind: 'customer', name: 'Customer' };
  if (actor.startsWith('human:')) return { kind: 'person', name: names.get(actor.slice('human:'.length)) || 'a former user' };
  return { kind: 'system', name: 'System' };
}

const stageRank = (stage: string) => stages.indexOf(stage as (typeof stages)[number]);

/**
 * Time order, each event id once. Equal times keep stage changes in funnel order (as the lead's
 * current stage is folded: a tie goes to the later stage), then the event id decides.
 */
function ordered(entries: readonly TimelineEntry[]): TimelineEntry[] {
  const seen = new Set<string>();
  const unique = entries.filter((e) => !seen.has(e.eventId) && seen.add(e.eventId));
  return unique.sort(
    (a, b) =>
      a.occurredAt - b.occurredAt ||
      (a.type === 'stage_changed' && b.type === 'stage_changed' ? stageRank(a.stage) - stageRank(b.stage) : 0) ||
      (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0)
  );
}

function shorten(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1).trimEnd()}…` : line;
}

/** Messages grouped into conversations: per channel, a new one after a 12-hour silence. */
function conversations(events: readonly TimelineEntry[], names: ReadonlyMap<string, string>): ConversationSection[] {
  const open = new Map<string, ConversationSection>();
  const all: ConversationSection[] = [];
  for (const e of events) {
    if (e.type !== 'message') continue;
    const text = str(e, 'text') || e.text || e.summary;
    const direction = str(e, 'direction') === 'inbound' || e.actor === 'customer' ? 'inbound' : 'outbound';
    const message = { eventId: e.eventId, at: e.occurredAt, direction, by: authorOf(e.actor, names), text } as const;
    const current = open.get(e.channel);
    if (current && e.occurredAt - current.endAt < CONVERSATION_GAP_MS) {
      current.messages.push(message);
      current.endAt = e.occurredAt;
      continue;
    }
    const started: ConversationSection = { kind: 'conversation', id: e.eventId, at: e.occurredAt, endAt: e.occurredAt, channel: e.channel, source: '', messages: [message], gist: null };
    open.set(e.channel, started);
    all.push(started);
  }
  return all;
}

/**
 * What the customer wants in a conversation, as the AI read it: a qualification within it or
 * after it (before the next conversation begins), else the AI's summary of one of the customer's
 * messages, else the customer's first words.
 */
function gistOf(c: ConversationSection, events: readonly TimelineEntry[], nextStart: number): ConversationSection['gist'] {
  const qualifications = events.filter((e) => e.type === 'lead_qualified' && (e.channel === '' || e.channel === c.channel));
  const qualified =
    qualifications.filter((e) => e.occurredAt >= c.at && e.occurredAt <= c.endAt).at(-1) ??
    qualifications.find((e) => e.occurredAt > c.endAt && e.occurredAt < nextStart);
  if (qualified) return { text: qualified.summary || qualified.intent, source: 'ai', eventId: qualified.eventId };
  const ids = new Set(c.messages.filter((m) => m.direction === 'inbound').map((m) => m.eventId));
  const summarised = events.find((e) => ids.has(e.eventId) && e.summary !== '');
  if (summarised) return { text: summarised.summary, source: 'ai', eventId: summarised.eventId };
  const first = c.messages.find((m) => m.direction === 'inbound' && m.text.trim() !== '');
  return first ? { text: shorten(first.text, GIST_LENGTH), source: 'customer', eventId: first.eventId } : null;
}

/** Where the customer came from ("Google Ads"), as the agent's conversation_started said. */
function sourceOf(c: ConversationSection, events: readonly TimelineEntry[]): string {
  const started = events.filter(
    (e) => e.type === 'conversation_started' && e.channel === c.channel && e.occurredAt > c.at - CONVERSATION_GAP_MS && e.occurredAt <= c.endAt
  );
  return started.map((e) => str(e, 'source')).filter(Boolean).at(-1) ?? '';
}

function humanAction(e: TimelineEntry): HumanAction | null {
  switch (e.type) {
    case leadEventTypes.assigned: {
      const via = str(e, 'via');
      if (via === 'claim') return 'claimed';
      return via === 'unclaim' || str(e, 'ownerId') === '' ? 'released' : 'assigned';
    }
    case leadEventTypes.snoozed:
      return 'snoozed';
    case leadEventTypes.reviewed:
      return 'reviewed';
    case exceptionEventTypes.acknowledge:
      return 'exception_acknowledged';
    case exceptionEventTypes.snooze:
      return 'exception_snoozed';
    case exceptionEventTypes.claim:
      return 'exception_claimed';
    case exceptionEventTypes.unclaim:
      return 'exception_released';
    default:
      return null;
  }
}

/** Delivery of each approved follow-up from the sent/failed rows after it (the latest wins). */
function deliveries(events: readonly TimelineEntry[]): Map<string, { state: DeliveryState; at: number; detail: string }> {
  const out = new Map<string, { state: DeliveryState; at: number; detail: string }>();
  for (const e of events) {
    const approvalId = str(e, 'approvalId');
    if (!approvalId) continue;
    if (e.type === leadEventTypes.followUpSent) out.set(approvalId, { state: 'sent', at: e.occurredAt, detail: '' });
    if (e.type === leadEventTypes.followUpFailed) {
      out.set(approvalId, { state: 'failed', at: e.occurredAt, detail: str(e, 'reason') || str(e, 'error') || str(e, 'message') });
    }
  }
  return out;
}

const deliveryStates: readonly string[] = ['sent', 'pending', 'not_configured', 'failed'] satisfies DeliveryState[];

/**
 * The reviewer's view of a lead: sections oldest first (a conversation at its first message),
 * the stage strip, and the contact as enriched. `names` maps user ids to names; an id not in it
 * reads "a former user". `now` (epoch ms) decides whether a snooze still holds.
 */
export function buildTimeline(entries: readonly TimelineEntry[], names: ReadonlyMap<string, string>, now: number): TimelineView {
  const events = ordered(entries);
  const position = new Map(events.map((e, i) => [e.eventId, i]));
  const delivered = deliveries(events);
  const sections: TimelineSection[] = [];
  const stageHistory: StageStep[] = [];
  const contact = { name: '', email: '', phone: '', company: '' };
  let stage = '';
  let intent = '';

  for (const e of events) {
    const by = authorOf(e.actor, names);
    const base = { id: e.eventId, at: e.occurredAt };
    const corrected = e.actor.startsWith('human:') && str(e, CORRECTION_PROPERTY) !== '';
    switch (e.type) {
      case 'message':
      case 'conversation_started':
        break; // in conversations below
      case 'stage_changed': {
        // A repeated report of the stage the lead is already in changes nothing.
        if (e.stage === stage && !corrected) break;
        sections.push({ ...base, kind: 'stage', from: (corrected && str(e, 'from')) || stage, to: e.stage, by, corrected });
        stageHistory.push({ stage: e.stage, at: e.occurredAt, by: by.name, corrected });
        stage = e.stage;
        break;
      }
      case 'lead_qualified':
      case leadEventTypes.intentCorrected: {
        const value = e.intent || str(e, 'intent');
        sections.push({ ...base, kind: 'intent', intent: value, from: (corrected && str(e, 'from')) || intent, confidence: corrected ? null : num(e, 'confidence'), by, corrected });
        intent = value;
        break;
      }
      case 'booking_created':
      case 'booking_cancelled':
      case 'attendance_recorded': {
        const change = e.type === 'booking_created' ? 'created' : e.type === 'booking_cancelled' ? 'cancelled' : e.properties.attended === true ? 'attended' : 'no_show';
        const startsAt = change === 'created' ? instant(e, 'startsAt') : null;
        sections.push({ ...base, kind: 'booking', change, bookingId: str(e, 'bookingId'), startsAt, reason: str(e, 'reason'), by });
        break;
      }
      case 'deal_won':
      case 'deal_lost':
        sections.push({ ...base, kind: 'outcome', outcome: e.type === 'deal_won' ? 'won' : 'lost', value: e.value, currency: e.currency, reason: str(e, 'reason'), by });
        break;
      case leadEventTypes.noteAdded:
        sections.push({ ...base, kind: 'note', by, text: str(e, 'text') || e.text });
        break;
      case leadEventTypes.followUpApproved: {
        const approvalId = str(e, 'approvalId');
        const delivery = delivered.get(approvalId);
        const stated = str(e, 'delivery');
        const initial: DeliveryState = deliveryStates.includes(stated) ? (stated as DeliveryState) : 'pending';
        sections.push({
          ...base,
          kind: 'follow_up',
          approvalId,
          by,
          channel: e.channel || str(e, 'channel'),
          subject: str(e, 'subject'),
          text: str(e, 'text') || e.text,
          edited: e.properties.edited === true || str(e, 'edited') === 'true',
          delivery: delivery?.state ?? initial,
          deliveredAt: delivery?.at ?? null,
          deliveryDetail: delivery?.detail ?? ''
        });
        break;
      }
      case leadEventTypes.followUpSent:
      case leadEventTypes.followUpFailed:
        break; // folded into the approval they deliver
      case 'leads_merged':
        sections.push({ ...base, kind: 'merge', mergedLeadId: str(e, 'mergedLeadId'), signal: str(e, 'signal'), by });
        break;
      case leadEventTypes.unmerged:
        sections.push({ ...base, kind: 'unmerge', mergedLeadId: str(e, 'mergedLeadId'), by });
        break;
      case 'contact_enriched': {
        const fields = { name: str(e, 'name'), email: str(e, 'email'), phone: str(e, 'phone'), company: str(e, 'company') };
        for (const [k, v] of Object.entries(fields) as [keyof typeof contact, string][]) if (v) contact[k] = v;
        sections.push({ ...base, kind: 'contact', ...fields, by });
        break;
      }
      default: {
        const action = humanAction(e);
        if (action) {
          const until = action === 'snoozed' || action === 'exception_snoozed' ? instant(e, 'until') : null;
          const ownerId = str(e, 'ownerId');
          const ownerName = action === 'assigned' ? names.get(ownerId) || 'a former user' : '';
          sections.push({ ...base, kind: 'human', action, by, ownerName, until, isActive: until !== null && until > now });
        } else {
          sections.push({ ...base, kind: 'other', type: e.type, summary: e.summary || e.text, by });
        }
      }
    }
  }

  const talks = conversations(events, names);
  talks.forEach((c, i) => {
    c.gist = gistOf(c, events, talks[i + 1]?.at ?? Infinity);
    c.source = sourceOf(c, events);
  });
  const merged = [...sections, ...talks].sort((a, b) => (position.get(a.id) ?? 0) - (position.get(b.id) ?? 0));
  return { sections: merged, stageHistory, contact, messageCount: talks.reduce((n, c) => n + c.messages.length, 0) };
}
