import type { AppContext } from './app-context';
import type { EventRow } from './db/queries/events';

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
