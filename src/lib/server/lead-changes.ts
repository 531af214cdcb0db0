import type { SessionUser } from '../contracts/auth';
import type { AppContext } from './app-context';
import type { EventRow } from './db/queries/events';
import type { LeadWriteResult } from './lead-actions';

/**
 * After a person's action on a lead is committed: the ledger rows go to the wall (ticker, stage
 * counts, exceptions) and to scoring (a corrected stage or intent rescores the lead, and a person
 * closing a lead counts toward retraining) like any committed event, and the organisation's
 * inboxes are told which leads changed so every open inbox refetches its own filter. The one call
 * every human write path makes, so no route forgets one of them.
 */
export function publishLeadChange(ctx: AppContext, orgId: string, rows: readonly EventRow[], byUserId: string): void {
  if (rows.length === 0) return;
  // Through the bus: the wall's owner pushes, the active trainer rescores, wherever they run.
  ctx.bus.committed(rows);
  ctx.inbox.changed(orgId, [...new Set(rows.map((r) => String(r.lead_id)))], byUserId);
}

/** The answer of a lead write endpoint: the refusal with its status, or the rows published and `{ ok: true }`. */
export function answerLeadWrite(ctx: AppContext, user: SessionUser, result: LeadWriteResult): Response {
  if (!result.ok) return Response.json({ message: result.message }, { status: result.status });
  publishLeadChange(ctx, user.orgId, result.rows, user.userId);
  return Response.json({ ok: true });
}
