import { can, type SessionUser } from '../contracts/auth';
import type { ExceptionKind, LeadException } from '../contracts/exceptions';
import type { InboxItem, InboxRequest, InboxResponse } from '../contracts/inbox';
import { scoreBandOf, SCORE_BAND_EDGES, type LeadFilter, type OwnerFilter } from '../contracts/lead-query';
import type { AppContext } from './app-context';
import { KIND_RISK, valueOf } from './db/queries/exceptions';
import { listUsers, type UserRecord } from './db/queries/identity';
import { inboxLeads, type InboxLeadRow, type OwnerScope } from './db/queries/inbox';
import { loadExceptionSettings } from './db/queries/org-settings';

/** Rows the inbox lists; the rest are counted in `matched`. */
export const INBOX_LENGTH = 200;
/** Leads read from ClickHouse before ranking; an organisation with more open leads matching is cut (most recent first). */
const CANDIDATES = 20_000;
/** Risk of a lead nothing is known against: unscored and no exception. */
const BASE_RISK = 0.1;
const OPEN_STAGES_NEEDING_OWNER = new Set(['qualified', 'booked', 'attended']);

type Refusal = { ok: false; status: 403; message: string };

/**
 * Whose leads the asker may list in a view. Reps: their own and the unclaimed shared queue;
 * managers the whole organisation. A named owner narrows it further (resolved by name within the
 * organisation, never across).
 */
function scopeFor(user: SessionUser, request: InboxRequest, users: readonly UserRecord[]): { scope: OwnerScope; notice?: string } | Refusal {
  const seesAll = can(user.role, 'leads:view-all');
  if (request.view === 'all' && !seesAll) return { ok: false, status: 403, message: 'Only managers see every lead.' };
  const byView: Record<InboxRequest['view'], OwnerScope> = {
    queue: { kind: 'owners', ownerIds: [user.userId, ''] },
    mine: { kind: 'owners', ownerIds: [user.userId] },
    shared: { kind: 'owners', ownerIds: [''] },
    all: { kind: 'any' }
  };
  const view = byView[request.view];
  const owner = request.filter.owner;
  if (!owner) return { scope: view };
  const wanted = ownerIds(owner, user, users);
  if (wanted.ids.length === 0) return { scope: { kind: 'owners', ownerIds: [] }, notice: wanted.notice };
  const allowed = view.kind === 'any' ? wanted.ids : wanted.ids.filter((id) => view.ownerIds.includes(id));
  const notice = allowed.length < wanted.ids.length ? 'Some of those leads belong to people whose leads this view does not show.' : wanted.notice;
  return { scope: { kind: 'owners', ownerIds: allowed }, notice };
}

function ownerIds(owner: OwnerFilter, user: SessionUser, users: readonly UserRecord[]): { ids: string[]; notice?: string } {
  if (owner.kind === 'me') return { ids: [user.userId] };
  if (owner.kind === 'unassigned') return { ids: [''] };
  const wanted = owner.name.toLocaleLowerCase();
  const exact = users.filter((u) => u.name.toLocaleLowerCase() === wanted);
  const byWord = users.filter((u) => u.name.toLocaleLowerCase().split(/\s+/).some((w) => w === wanted || w.startsWith(wanted)));
  const found = exact.length ? exact : byWord;
  if (found.length === 0) return { ids: [], notice: `No one called "${owner.name}" in your organisation.` };
  const notice = found.length > 1 ? `"${owner.name}" matches ${found.map((u) => u.name).join(', ')}; showing all of them.` : undefined;
  return { ids: found.map((u) => u.userId), notice };
}

/** Why a lead is in front of a person, in one phrase. */
function whyOf(exceptions: LeadException[], pWon: number | null, lead: InboxLeadRow): string {
  const top = [...exceptions].sort((a, b) => KIND_RISK[b.kind] - KIND_RISK[a.kind] || a.since - b.since)[0];
  if (top) return top.words;
  // No number here: the row shows the score itself, and two roundings of it would disagree.
  if (pWon !== null && pWon < SCORE_BAND_EDGES.low) return 'The model rates it unlikely to win';
  if (!lead.ownerId && OPEN_STAGES_NEEDING_OWNER.has(lead.stage)) return `${lead.stage[0]!.toUpperCase()}${lead.stage.slice(1)}, and nobody has claimed it`;
  return 'Matches your question';
}

/**
 * Without a question, the inbox lists only what needs a person: an exception, a low score, or a
 * qualified lead nobody owns. A question (any filter) is a search: every open lead matching it.
 */
function needsPerson(item: Pick<InboxItem, 'exceptions' | 'score' | 'ownerId' | 'stage'>): boolean {
  return (
    item.exceptions.length > 0 ||
    (item.score !== null && item.score.pWon < SCORE_BAND_EDGES.low) ||
    (!item.ownerId && OPEN_STAGES_NEEDING_OWNER.has(item.stage))
  );
}

const isEmptyFilter = (f: LeadFilter) => Object.values(f).every((v) => v === undefined);

function matchesAfterFold(item: InboxItem, filter: LeadFilter): boolean {
  if (filter.minValue !== undefined && item.value < filter.minValue) return false;
  if (filter.maxValue !== undefined && item.value > filter.maxValue) return false;
  if (filter.scoreBands && (item.score === null || !filter.scoreBands.includes(scoreBandOf(item.score.pWon)))) return false;
  if (filter.exceptionKinds && !item.exceptions.some((e) => filter.exceptionKinds!.includes(e.kind as ExceptionKind))) return false;
  return true;
}

export type InboxResult = ({ ok: true } & InboxResponse) | Refusal;

/**
 * The inbox for `user`: leads that need a person (or match the question), ranked by risk × value.
 * Every read is scoped to the user's organisation; the view and role decide whose leads.
 */
export async function buildInbox(ctx: Pick<AppContext, 'clickhouse' | 'inboxFacts'>, user: SessionUser, request: InboxRequest, now = Date.now()): Promise<InboxResult> {
  const orgId = user.orgId;
  const [users, settings] = await Promise.all([listUsers(ctx.clickhouse, orgId), loadExceptionSettings(ctx.clickhouse, orgId)]);
  const scoped = scopeFor(user, request, users);
  if ('ok' in scoped) return scoped;
  const leads =
    scoped.scope.kind === 'owners' && scoped.scope.ownerIds.length === 0
      ? []
      : await inboxLeads(ctx.clickhouse, orgId, now, { filter: request.filter, scope: scoped.scope, includeHidden: request.includeHidden, max: CANDIDATES });
  if (leads.length === 0) return { ok: true, items: [], matched: 0, asOf: now, ...(scoped.notice ? { notice: scoped.notice } : {}) };
  const { values, scores, exceptions } = await ctx.inboxFacts.get(orgId, now);
  const exceptionsByLead = new Map<string, LeadException[]>();
  for (const e of exceptions) exceptionsByLead.set(e.leadId, [...(exceptionsByLead.get(e.leadId) ?? []), e]);
  const names = new Map(users.map((u) => [u.userId, u.name]));
  const filterless = isEmptyFilter(request.filter);

  const items: InboxItem[] = [];
  for (const lead of leads) {
    const own = exceptionsByLead.get(lead.leadId) ?? [];
    const scored = scores.get(lead.leadId);
    const pWon = scored ? scored.score : null;
    const risk = pWon !== null ? 1 - pWon : own.length ? 1 - own.reduce((keep, e) => keep * (1 - KIND_RISK[e.kind]), 1) : BASE_RISK;
    const value = valueOf(values.get(lead.leadId), settings);
    const item: InboxItem = {
      leadId: lead.leadId,
      name: lead.name,
      stage: lead.stage,
      channel: lead.channel,
      ownerId: lead.ownerId,
      ownerName: lead.ownerId ? (names.get(lead.ownerId) ?? 'a former user') : '',
      intent: lead.intent,
      summary: lead.summary,
      lastActivityAt: lead.lastActivityAt,
      lastActivityType: lead.lastActivityType,
      createdAt: lead.createdAt,
      score: scored
        ? {
            pWon: scored.score,
            trend: scored.previous === null ? null : scored.score - scored.previous,
            reasons: scored.reasons.slice(0, 3).map((r) => ({ text: r.text, direction: r.direction }))
          }
        : null,
      exceptions: own.map((e) => ({ id: e.id, kind: e.kind, words: e.words })),
      ...value,
      risk,
      exposure: risk * value.value,
      why: whyOf(own, pWon, lead),
      snoozedUntil: lead.snoozedUntil > now ? lead.snoozedUntil : null,
      reviewedAt: lead.reviewedAt > 0 && lead.reviewedAt >= lead.lastActivityAt ? lead.reviewedAt : null
    };
    if (filterless && !needsPerson(item)) continue;
    if (!matchesAfterFold(item, request.filter)) continue;
    items.push(item);
  }
  items.sort((a, b) => b.exposure - a.exposure || b.risk - a.risk || a.lastActivityAt - b.lastActivityAt || (a.leadId < b.leadId ? -1 : 1));
  return { ok: true, items: items.slice(0, INBOX_LENGTH), matched: items.length, asOf: now, ...(scoped.notice ? { notice: scoped.notice } : {}) };
}

