import type { SessionUser } from '../../contracts/auth';
import { channelSchema, stageSchema } from '../../contracts/events';
import type { LeadSummary } from '../../contracts/leads';
import type { ClickHouseClient } from '../db/clickhouse';
import { findExceptions } from '../db/queries/exceptions';
import { findOrganisation } from '../db/queries/identity';
import { draftFacts } from '../db/queries/lead-context';
import { loadExceptionSettings } from '../db/queries/org-settings';
import type { DraftContext } from './draft';

/**
 * Everything a draft is written from, for leads the user may work (access is the caller's check).
 * The channel is the one the customer last wrote on (else the lead's latest); the language is
 * the agent's enrichment, if any. The organisation's exceptions are read once for all the leads.
 */
export async function draftContextsFor(client: ClickHouseClient, user: SessionUser, leads: readonly LeadSummary[], now = Date.now()): Promise<DraftContext[]> {
  const [org, settings] = await Promise.all([findOrganisation(client, user.orgId), loadExceptionSettings(client, user.orgId)]);
  const exceptions = await findExceptions(client, user.orgId, now, settings);
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
