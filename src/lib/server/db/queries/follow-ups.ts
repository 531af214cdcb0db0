import type { DeliveryState } from '../../../contracts/follow-ups';
import { leadEventTypes } from '../../../contracts/leads';
import { queryRows, type ClickHouseClient } from '../clickhouse';
import { sql } from '../sql';
import { canonicalLeads } from './contacts';
import { humanEventRow, type EventRow } from './events';

/**
 * Approved follow-ups in the ledger (issue 7, item 5). An approval is a `follow_up_approved` human
 * row holding exactly what was approved; its delivery to the outbound webhook is a later
 * `follow_up_sent` or `follow_up_failed` row (actor 'system') with the same `approvalId`. An
 * approval with neither is still to be delivered, unless it was made while no webhook was
 * configured (`properties.delivery = 'not_configured'`; 'pending' otherwise): that one is never sent later, when a
 * webhook appears, since a follow-up approved days ago may no longer fit the conversation.
 */

/** An approval as read back from its ledger row: everything needed to deliver it. */
export interface RecordedApproval {
  approvalId: string;
  orgId: string;
  leadId: string;
  /** Who approved it. */
  userId: string;
  userName: string;
  channel: string;
  language: string;
  /** '' when none (only email has one). */
  subject: string;
  text: string;
  /** epoch ms */
  approvedAt: number;
}

export interface ApprovalInput {
  orgId: string;
  leadId: string;
  userId: string;
  userName: string;
  approvalId: string;
  channel: string;
  language: string;
  subject?: string;
  text: string;
  draftText: string;
  confidence: number;
  source: string;
  /** Whether an outbound webhook will deliver it; false is recorded as 'not_configured'. */
  outboundConfigured: boolean;
  at: number;
}

export function followUpApprovedRow(a: ApprovalInput): EventRow {
  const edited = a.text !== a.draftText.trim();
  return humanEventRow({
    orgId: a.orgId,
    eventId: `approval:${a.approvalId}`,
    leadId: a.leadId,
    type: leadEventTypes.followUpApproved,
    userId: a.userId,
    summary: `${a.userName} approved a ${a.channel} follow-up${edited ? ' (edited)' : ''}`,
    properties: {
      approvalId: a.approvalId,
      channel: a.channel,
      language: a.language,
      subject: a.subject ?? '',
      text: a.text,
      draftText: a.draftText,
      edited: edited ? 'true' : 'false',
      confidence: a.confidence,
      source: a.source,
      delivery: a.outboundConfigured ? 'pending' : 'not_configured'
    },
    at: a.at
  });
}

/** The fields of a `follow_up_approved` row (as built here or read back) that delivery needs. */
export function approvalFromRow(
  row: Pick<EventRow, 'org_id' | 'lead_id' | 'actor' | 'occurred_at' | 'properties'>,
  userName: string
): RecordedApproval {
  const p = JSON.parse(String(row.properties)) as Record<string, unknown>;
  const str = (k: string) => (typeof p[k] === 'string' ? (p[k] as string) : '');
  return {
    approvalId: str('approvalId'),
    orgId: String(row.org_id),
    leadId: String(row.lead_id),
    userId: String(row.actor).replace(/^human:/, ''),
    userName,
    channel: str('channel'),
    language: str('language'),
    subject: str('subject'),
    text: str('text'),
    approvedAt: Number(row.occurred_at)
  };
}

/** A delivery outcome row; the id is derived from the approval, so a repeated delivery folds into one row. */
function outcomeRow(a: RecordedApproval, type: string, summary: string, properties: Record<string, string | number>, at: number): EventRow {
  return {
    ...humanEventRow({ orgId: a.orgId, eventId: `${type}:${a.approvalId}`, leadId: a.leadId, type, userId: '', summary, properties, at }),
    actor: 'system'
  };
}

export function followUpSentRow(a: RecordedApproval, status: number, at: number): EventRow {
  return outcomeRow(a, leadEventTypes.followUpSent, `Follow-up handed to the outbound webhook (HTTP ${status})`, { approvalId: a.approvalId, status }, at);
}

export function followUpFailedRow(a: RecordedApproval, error: string, attempts: number, at: number): EventRow {
  const summary = `Follow-up not delivered after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${error}`;
  return outcomeRow(a, leadEventTypes.followUpFailed, summary, { approvalId: a.approvalId, error, attempts }, at);
}

interface PendingRow {
  org_id: string;
  lead_id: string;
  actor: string;
  occurred_at: string;
  properties: string;
  user_name: string;
}

/**
 * Approvals since `since` (epoch ms), in every organisation, that have neither a sent nor a
 * failed row: the ones a crash or a stop left undelivered. Oldest first.
 */
export async function pendingApprovals(client: ClickHouseClient, since: number): Promise<RecordedApproval[]> {
  const t = leadEventTypes;
  const rows = await queryRows<PendingRow>(
    client,
    sql`SELECT org_id, lead_id, actor, occurred_at, properties, name AS user_name
        FROM (
          SELECT org_id, substring(actor, 7) AS user_id, lead_id, actor, occurred_at, properties, event_id
          FROM events
          WHERE type = ${t.followUpApproved} AND occurred_at >= ${since}
            AND visitParamExtractString(properties, 'delivery') != 'not_configured'
            AND visitParamExtractString(properties, 'approvalId') NOT IN (
              SELECT visitParamExtractString(properties, 'approvalId') FROM events
              WHERE type IN (${t.followUpSent}, ${t.followUpFailed}) AND occurred_at >= ${since})
          LIMIT 1 BY org_id, lead_id, event_id
        ) ANY LEFT JOIN (
          SELECT org_id, user_id, argMax(name, version) AS name FROM users GROUP BY org_id, user_id
        ) USING (org_id, user_id)
        ORDER BY occurred_at`
  );
  return rows.map((r) => approvalFromRow(r, r.user_name));
}

/**
 * Delivery state of each approval on a lead (and on the leads merged into it), by approval id,
 * for the timeline: 'sent' or 'failed' once recorded, 'not_configured' when approved without a
 * webhook, else 'pending'.
 */
export async function deliveryStates(client: ClickHouseClient, orgId: string, leadId: string): Promise<Map<string, DeliveryState>> {
  const t = leadEventTypes;
  const rows = await queryRows<{ approval_id: string; sent: string; failed: string; unconfigured: string }>(
    client,
    sql`SELECT visitParamExtractString(properties, 'approvalId') AS approval_id,
               countIf(type = ${t.followUpSent}) AS sent, countIf(type = ${t.followUpFailed}) AS failed,
               countIf(type = ${t.followUpApproved} AND visitParamExtractString(properties, 'delivery') = 'not_configured') AS unconfigured
        FROM events
        WHERE org_id = ${orgId}
          AND (lead_id = ${leadId} OR lead_id IN (SELECT lead_id FROM ${canonicalLeads(orgId)} WHERE canonical = ${leadId}))
          AND type IN (${t.followUpApproved}, ${t.followUpSent}, ${t.followUpFailed})
        GROUP BY approval_id
        HAVING countIf(type = ${t.followUpApproved}) > 0`
  );
  const state = (r: (typeof rows)[number]): DeliveryState =>
    Number(r.sent) > 0 ? 'sent' : Number(r.failed) > 0 ? 'failed' : Number(r.unconfigured) > 0 ? 'not_configured' : 'pending';
  return new Map(rows.map((r) => [r.approval_id, state(r)]));
}
