import { createHmac } from 'node:crypto';
import type { DeliveryState, OutboundFollowUp } from '../../contracts/follow-ups';
import type { ClickHouseClient } from '../db/clickhouse';
import { insertEventRows, type EventRow } from '../db/queries/events';
import { followUpFailedRow, followUpSentRow, pendingApprovals, type RecordedApproval } from '../db/queries/follow-ups';
import type { Logger } from '../log';

/**
 * Delivery of approved follow-ups to the outbound webhook (the agent platform that sends them).
 *
 * Only approvals already in the ledger are delivered: `deliver` takes a `RecordedApproval`, made
 * from a committed `follow_up_approved` row (approve.ts writes it first; `resumePending` reads
 * them back), so nothing is ever sent without an approval row.
 *
 * Delivery is at least once: a crash after the POST and before the `follow_up_sent` row, or two
 * processes resuming the same approval, sends it again. Receivers dedupe on `approvalId` (it is
 * in the body and in the `x-pipewall-approval-id` header).
 */
export interface OutboundOptions {
  clickhouse: ClickHouseClient;
  log: Logger;
  /** Unset: approvals are recorded and not delivered ('not_configured'). */
  url?: string;
  /** Signs each body: `x-pipewall-signature: sha256=<hex HMAC-SHA256>`. */
  secret?: string;
  fetch?: typeof globalThis.fetch;
  now?: () => number;
  /** Waits before the 2nd, 3rd … attempt; after the last one fails, `follow_up_failed` is recorded. */
  retryDelaysMs?: readonly number[];
  /** One POST; a receiver slower than this counts as a failed attempt. */
  timeoutMs?: number;
  /** How far back `resumePending` looks: older approvals are stale news, not sent late. */
  resumeWindowMs?: number;
  /** A `follow_up_sent`/`follow_up_failed` row once it is in the ledger, for the caller to publish. */
  onRecorded?: (rows: EventRow[]) => void;
}

export interface Outbound {
  readonly configured: boolean;
  /** Start delivering a recorded approval (unless already under way); 'pending', or 'not_configured'. */
  deliver(approval: RecordedApproval): DeliveryState;
  /**
   * Deliver the approvals of the resume window that have neither a sent nor a failed row (those
   * approved while no webhook was configured excepted). Call once at start.
   */
  resumePending(): Promise<number>;
  /** Resolves once every delivery started so far has been recorded, given up or stopped. */
  idle(): Promise<void>;
  /** Cancel waits and requests; what was not recorded is picked up by the next `resumePending`. */
  stop(): void;
}

const WEEK_MS = 7 * 24 * 3_600_000;

type Attempt = { ok: true; status: number } | { ok: false; error: string };

export function createOutbound(options: OutboundOptions): Outbound {
  const { clickhouse, log, url, secret } = options;
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const delays = options.retryDelaysMs ?? [1_000, 5_000, 30_000, 120_000];
  const timeoutMs = options.timeoutMs ?? 10_000;
  const inFlight = new Map<string, Promise<void>>();
  const waits = new Set<{ timer: NodeJS.Timeout; done: (carryOn: boolean) => void }>();
  const stopping = new AbortController();

  /** Resolves true after `ms`, or false at once when stopped. */
  function wait(ms: number): Promise<boolean> {
    if (stopping.signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          waits.delete(entry);
          resolve(true);
        }, ms),
        done: resolve
      };
      waits.add(entry);
    });
  }

  async function post(target: string, approval: RecordedApproval): Promise<Attempt> {
    const payload: OutboundFollowUp = {
      approvalId: approval.approvalId,
      orgId: approval.orgId,
      leadId: approval.leadId,
      channel: approval.channel,
      language: approval.language,
      ...(approval.subject ? { subject: approval.subject } : {}),
      text: approval.text,
      approvedBy: { userId: approval.userId, name: approval.userName },
      approvedAt: new Date(approval.approvedAt).toISOString()
    };
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-pipewall-approval-id': approval.approvalId };
    if (secret) headers['x-pipewall-signature'] = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    try {
      const res = await doFetch(target, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(timeoutMs)])
      });
      // Read the answer to the end so the connection is freed; its content does not matter.
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? { ok: true, status: res.status } : { ok: false, error: `HTTP ${res.status}` };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Store an outcome row, retrying on the same schedule; false if it could not be stored. */
  async function record(row: EventRow): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await insertEventRows(clickhouse, [row]);
        options.onRecorded?.([row]);
        return true;
      } catch (err) {
        const delay = delays[attempt];
        if (delay === undefined || !(await wait(delay))) {
          log.error({ err, eventId: row.event_id }, 'follow-up outcome not recorded; the next start delivers it again (receivers dedupe)');
          return false;
        }
        log.warn({ err, eventId: row.event_id, attempt: attempt + 1 }, 'follow-up outcome not recorded; retrying');
      }
    }
  }

  async function run(target: string, approval: RecordedApproval): Promise<void> {
    let error = '';
    for (let attempt = 1; attempt <= delays.length + 1; attempt++) {
      if (stopping.signal.aborted) return;
      const result = await post(target, approval);
      if (result.ok) {
        await record(followUpSentRow(approval, result.status, now()));
        return;
      }
      if (stopping.signal.aborted) return;
      error = result.error;
      log.warn({ approvalId: approval.approvalId, attempt, error }, 'follow-up delivery failed');
      const delay = delays[attempt - 1];
      if (delay !== undefined && !(await wait(delay))) return;
    }
    await record(followUpFailedRow(approval, error, delays.length + 1, now()));
  }

  function deliver(approval: RecordedApproval): DeliveryState {
    if (!url) return 'not_configured';
    if (!stopping.signal.aborted && !inFlight.has(approval.approvalId)) {
      const running = run(url, approval)
        .catch((err: unknown) => log.error({ err, approvalId: approval.approvalId }, 'follow-up delivery crashed'))
        .finally(() => inFlight.delete(approval.approvalId));
      inFlight.set(approval.approvalId, running);
    }
    return 'pending';
  }

  return {
    configured: Boolean(url),
    deliver,
    async resumePending() {
      if (!url) return 0;
      const pending = await pendingApprovals(clickhouse, now() - (options.resumeWindowMs ?? WEEK_MS));
      for (const approval of pending) deliver(approval);
      if (pending.length) log.info({ approvals: pending.length }, 'delivering approved follow-ups left undelivered by an earlier run');
      return pending.length;
    },
    async idle() {
      while (inFlight.size) await Promise.all(inFlight.values());
    },
    stop() {
      stopping.abort();
      for (const w of waits) {
        clearTimeout(w.timer);
        w.done(false);
      }
      waits.clear();
    }
  };
}
