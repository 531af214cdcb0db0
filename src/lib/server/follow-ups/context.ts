import type { SessionUser } from '../../contracts/auth';
import { channelSchema, stageSchema } from '../../contracts/events';
import type { LeadSummary } from '../../contracts/leads';
import { findOrganisation } from '../db/queries/identity';
import { draftFacts } from '../db/queries/lead-context';
import type { AppContext } from '../app-context';
import type { DraftContext } from './draft';

/**
 * Everything a draft is written from, for leads the user may work (access is the caller's check).
 * The channel is the one the customer last wrote on (else the lead's latest); the language is
 * the agent's enrichment, if any. The organisation's exceptions are read once for all the leads.
 */
export async function draftContextsFor(
  ctx: Pick<AppContext, 'clickhouse' | 'inboxFacts'>,
  user: SessionUser,
  leads: readonly LeadSummary[],
  now = Date.now()
): Promise<DraftContext[]> {
  const client = ctx.clickhouse;
  // The organisation's exceptions as the inboxes share them (a draft is usually asked from one).
  const [org, facts] = await Promise.all([findOrganisation(client, user.orgId), ctx.inboxFacts.get(user.orgId, now)]);
  const exceptions = facts.exceptions.filter((e) => !e.snoozed);
  return Promise.all(
    leads.map(async (lead) => {
      const facts = await draftFacts(client, user.orgId, lead.leadId);
      const lastInbound = facts.messages.findLast((m) => m.direction === 'inbound');
      const channel = channelSchema.safeParse(lastInbound?.channel || lead.channel);
      const stage = stageSchema.safeParse(lead.stage);
      return {
        leadId: lead.leadId,
        contactName: facts.name,
        language: facts.language,
        channel: channel.success ? channel.data : 'email',
        stage: stage.success ? stage.data : 'enquired',
        intent: lead.intent,
        orgName: org?.name ?? '',
        senderName: user.name,
        lastMessages: facts.messages.map(({ direction, text, at }) => ({ direction, text, at })),
        riskWords: exceptions.filter((e) => e.leadId === lead.leadId).map((e) => e.words),
        ...(facts.bookingAt ? { bookingAt: facts.bookingAt } : {})
      } satisfies DraftContext;
    })
  );
}
