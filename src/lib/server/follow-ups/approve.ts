import type { SessionUser } from '../../contracts/auth';
import type { ApproveFollowUp, DeliveryState } from '../../contracts/follow-ups';
import { randomId } from '../auth/token';
import type { ClickHouseClient } from '../db/clickhouse';
import { insertEventRows, type EventRow } from '../db/queries/events';
import { approvalFromRow, followUpApprovedRow } from '../db/queries/follow-ups';
import { findWorkableLead } from '../lead-actions';
import type { Outbound } from './outbound';

export interface ApproveDeps {
  clickhouse: ClickHouseClient;
  outbound: Pick<Outbound, 'deliver' | 'configured'>;
}

export type ApproveResult =
  | { ok: true; approvalId: string; rows: EventRow[]; delivery: DeliveryState }
  | { ok: false; status: 403 | 404; message: string };

/**
 * A person approves a drafted follow-up, as edited (`input` was parsed with
 * approveFollowUpSchema where it arrived). The approval is committed to the ledger before anything
 * is sent: if the write fails this throws and nothing leaves Pipewall; if the process dies after
 * it, the next start's `resumePending` delivers it. Returns the approval row for the caller to
 * publish; delivery goes on in the background ('pending'), or 'not_configured' without a webhook.
 */
export async function approveFollowUp(deps: ApproveDeps, user: SessionUser, input: ApproveFollowUp, now = Date.now()): Promise<ApproveResult> {
  const access = await findWorkableLead(deps.clickhouse, user, input.leadId);
  if (!access.ok) return access;
  const approvalId = `fu-${randomId()}`;
  const row = followUpApprovedRow({
    ...input,
    orgId: user.orgId,
    // The surviving lead, even when approved through a merged lead's id.
    leadId: access.lead.leadId,
    userId: user.userId,
    userName: user.name,
    approvalId,
    outboundConfigured: deps.outbound.configured,
    at: now
  });
  await insertEventRows(deps.clickhouse, [row]);
  const delivery = deps.outbound.deliver(approvalFromRow(row, user.name));
  return { ok: true, approvalId, rows: [row], delivery };
}
