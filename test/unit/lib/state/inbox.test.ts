import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { InboxItem, InboxRequest, InboxResponse } from '$lib/contracts/inbox';
import {
  CLAIM_NOTE_MS,
  GONE_MS,
  HIGHLIGHT_MS,
  InboxState,
  REFETCH_DEBOUNCE_MS,
  inboxUrl,
  leadActionUrl
} from '$lib/state/inbox.svelte';

/** A valid inbox item; pass only what the test cares about. */
function buildItem(overrides: Partial<InboxItem> = {}): InboxItem {
  return {
    leadId: 'lead-1',
    name: 'Ana',
    stage: 'qualified',
    channel: 'whatsapp',
    ownerId: '',
    ownerName: '',
    intent: 'implant',
    summary: 'Wants a price for two implants',
    lastActivityAt: 1_700_000_000_000,
    lastActivityType: 'message',
    createdAt: 1_699_000_000_000,
    score: { pWon: 0.42, trend: -0.1, reasons: [{ text: 'replied fast', direction: 'up' }] },
    exceptions: [],
    value: 3_000,
    currency: 'EUR',
    valueSource: 'intent',
    risk: 0.5,
    exposure: 1_500,
    why: 'Silent 3 days after qualification',
    snoozedUntil: null,
    reviewedAt: null,
    ...overrides
  };
}

const response = (items: InboxItem[], asOf = 1): InboxResponse => ({ items, matched: items.length, asOf });
const request: InboxRequest = { view: 'queue', filter: {}, includeHidden: false };

/** A fetch whose answers the test releases one by one, recording what it was asked. */
function controlledFetch() {
  const calls: { url: string; init: RequestInit | undefined; answer: (status: number, body: unknown) => void }[] = [];
  const fn = ((url: string, init?: RequestInit) =>
    new Promise<Response>((resolve) => {
      calls.push({ url, init, answer: (status, body) => resolve(new Response(JSON.stringify(body), { status })) });
    })) as unknown as typeof fetch;
  return { fn, calls };
}

/** Let pending promise callbacks run (fake timers do not advance microtasks by themselves). */
const settle = () => vi.advanceTimersByTimeAsync(0);

describe('InboxState', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks for the view, the filter as JSON and the hidden switch', () => {
    expect(inboxUrl({ view: 'mine', filter: { minValue: 50_000, intent: 'a b' }, includeHidden: true })).toBe(
      '/api/v1/inbox?view=mine&filter=%7B%22minValue%22%3A50000%2C%22intent%22%3A%22a%20b%22%7D&hidden=1'
    );
    expect(leadActionUrl('lead/1')).toBe('/api/v1/leads/lead%2F1/actions');
  });

  it('fetches once after a burst of changes, with the latest filter', async () => {
    const { fn, calls } = controlledFetch();
    const inbox = new InboxState(request, response([buildItem()]), { me: 'u-me', fetch: fn });

    inbox.setFilter({ minValue: 1 });
    inbox.applyChange({ leadIds: ['lead-1'], byUserId: '' });
    inbox.setFilter({ minValue: 2 });
    await vi.advanceTimersByTimeAsync(REFETCH_DEBOUNCE_MS - 1);
    const before = calls.length;
    await vi.advanceTimersByTimeAsync(1);

    expect([before, calls.map((c) => c.url)]).toEqual([0, [inboxUrl({ ...request, filter: { minValue: 2 } })]]);
  });

  it('keeps one request in flight and lets the latest question win', async () => {
    const { fn, calls } = controlledFetch();
    const inbox = new InboxState(request, response([buildItem()]), { me: 'u-me', fetch: fn });

    inbox.setView('mine');
    await vi.advanceTimersByTimeAsync(REFETCH_DEBOUNCE_MS);
    inbox.setView('shared');
    await vi.advanceTimersByTimeAsync(REFETCH_DEBOUNCE_MS);
    const inFlight = calls.length;
    calls[0]!.answer(200, response([buildItem({ leadId: 'mine-1' })]));
    await settle();
    calls[1]!.answer(200, response([buildItem({ leadId: 'shared-1' })]));
    await settle();

    expect([inFlight, calls.length, inbox.items.map((i) => i.leadId), inbox.isStale, inbox.loading]).toEqual([1, 2, ['shared-1'], false, false]);
  });

  it('keeps the list and says why when a fetch fails', async () => {
    const { fn, calls } = controlledFetch();
    const inbox = new InboxState(request, response([buildItem()]), { me: 'u-me', fetch: fn });

    const done = inbox.refresh();
    calls[0]!.answer(503, { message: 'ClickHouse is unavailable' });
    await done;

    expect([inbox.error, inbox.items.map((i) => i.leadId)]).toEqual(['ClickHouse is unavailable', ['lead-1']]);
  });

  it('waits for the server before refetching after an action, and reports a refusal', async () => {
    const { fn, calls } = controlledFetch();
    const inbox = new InboxState(request, response([buildItem()]), { me: 'u-me', fetch: fn });

    let stored = 0;
    const claimed = inbox.act('lead-1', { action: 'claim' }, () => (stored += 1));
    const busyWhileOut = inbox.busy.get('lead-1');
    const askedBeforeAnswer = calls.length;
    calls[0]!.answer(200, { ok: true });
    await settle();
    const busyWhileFetching = [inbox.busy.get('lead-1'), stored];
    calls[1]!.answer(200, response([buildItem({ ownerId: 'u-me', ownerName: 'Me' })]));
    const claimResult = await claimed;
    const refused = inbox.act('lead-1', { action: 'review' });
    calls[2]!.answer(409, { message: 'Already reviewed.' });

    expect([busyWhileOut, askedBeforeAnswer, busyWhileFetching, JSON.parse(String(calls[0]!.init?.body)), calls[1]!.url, claimResult, await refused, inbox.busy.has('lead-1')]).toEqual([
      'saving',
      1,
      ['updating', 1],
      { action: 'claim' },
      inboxUrl(request),
      '',
      'Already reviewed.',
      false
    ]);
  });

  it('highlights rows that changed on a refresh, briefly, and not on a new question', async () => {
    const { fn, calls } = controlledFetch();
    const inbox = new InboxState(request, response([buildItem(), buildItem({ leadId: 'lead-2' })]), { me: 'u-me', fetch: fn });

    const done = inbox.refresh();
    calls[0]!.answer(
      200,
      response([buildItem({ lastActivityAt: 1_700_000_100_000 }), buildItem({ leadId: 'lead-2', risk: 0.9, value: 3_100 }), buildItem({ leadId: 'lead-3' })])
    );
    await done;
    const highlighted = inbox.rows.filter((r) => r.isChanged).map((r) => r.item.leadId);
    await vi.advanceTimersByTimeAsync(HIGHLIGHT_MS);
    const later = inbox.rows.filter((r) => r.isChanged).length;
    inbox.setFilter({ minValue: 1 });
    const next = inbox.refresh();
    calls[1]!.answer(200, response([buildItem({ leadId: 'lead-9' })]));
    await next;

    expect([highlighted, later, inbox.rows.filter((r) => r.isChanged).length]).toEqual([['lead-1', 'lead-3'], 0, 0]);
  });

  it('names the colleague who claimed a row, for a minute', async () => {
    const { fn, calls } = controlledFetch();
    const inbox = new InboxState({ ...request, view: 'all' }, response([buildItem()]), { me: 'u-me', fetch: fn });

    inbox.applyChange({ leadIds: ['lead-1'], byUserId: 'u-bea' });
    await vi.advanceTimersByTimeAsync(REFETCH_DEBOUNCE_MS);
    calls[0]!.answer(200, response([buildItem({ ownerId: 'u-bea', ownerName: 'Bea' })]));
    await settle();
    const note = inbox.rows[0]!.claimedBy;
    await vi.advanceTimersByTimeAsync(CLAIM_NOTE_MS);

    expect([note, inbox.rows[0]!.claimedBy]).toEqual([{ name: 'Bea', at: 1_000_000 + REFETCH_DEBOUNCE_MS }, null]);
  });

  it('does not call my own claim news', async () => {
    const { fn, calls } = controlledFetch();
    const inbox = new InboxState(request, response([buildItem()]), { me: 'u-me', fetch: fn });

    const done = inbox.refresh();
    calls[0]!.answer(200, response([buildItem({ ownerId: 'u-me', ownerName: 'Me' })]));
    await done;

    expect(inbox.rows[0]!.claimedBy).toBeNull();
  });

  it('keeps a row a colleague took off the list in place, greyed, for a few seconds', async () => {
    const { fn, calls } = controlledFetch();
    const items = [buildItem({ leadId: 'a' }), buildItem({ leadId: 'b' }), buildItem({ leadId: 'c' })];
    const inbox = new InboxState(request, response(items), { me: 'u-me', people: { 'u-bea': 'Bea' }, fetch: fn });

    inbox.applyChange({ leadIds: ['b'], byUserId: 'u-bea' });
    await vi.advanceTimersByTimeAsync(REFETCH_DEBOUNCE_MS);
    calls[0]!.answer(200, response([items[0]!, items[2]!]));
    await settle();
    const shown = inbox.rows.map((r) => [r.item.leadId, r.goneBy?.name ?? null]);
    await vi.advanceTimersByTimeAsync(GONE_MS);

    expect([shown, inbox.rows.map((r) => r.item.leadId)]).toEqual([
      [
        ['a', null],
        ['b', 'Bea'],
        ['c', null]
      ],
      ['a', 'c']
    ]);
  });

  it('holds a refreshed list still while held, and lets it in when released', async () => {
    const { fn, calls } = controlledFetch();
    const inbox = new InboxState(request, response([buildItem({ leadId: 'a' }), buildItem({ leadId: 'b' })]), { me: 'u-me', fetch: fn });

    inbox.hold(true);
    const done = inbox.refresh();
    calls[0]!.answer(200, response([buildItem({ leadId: 'b' }), buildItem({ leadId: 'a' })]));
    await done;
    const whileHeld = [inbox.items.map((i) => i.leadId), inbox.hasWaiting];
    inbox.hold(false);

    expect([whileHeld, [inbox.items.map((i) => i.leadId), inbox.hasWaiting]]).toEqual([
      [['a', 'b'], true],
      [['b', 'a'], false]
    ]);
  });

  it('shows a new question, and the result of my own action, even while held', async () => {
    const { fn, calls } = controlledFetch();
    const inbox = new InboxState(request, response([buildItem()]), { me: 'u-me', fetch: fn });
    inbox.hold(true);

    const claimed = inbox.act('lead-1', { action: 'claim' });
    calls[0]!.answer(200, { ok: true });
    await settle();
    calls[1]!.answer(200, response([buildItem({ ownerId: 'u-me', ownerName: 'Me' })]));
    await claimed;
    const owner = inbox.items[0]!.ownerId;
    inbox.setView('mine');
    const next = inbox.refresh();
    calls[2]!.answer(200, response([buildItem({ leadId: 'mine-1' })]));
    await next;

    expect([owner, inbox.items.map((i) => i.leadId), inbox.hasWaiting]).toEqual(['u-me', ['mine-1'], false]);
  });

  it('answers an action once its own refetch is back, even while pushes keep the loop busy', async () => {
    const { fn, calls } = controlledFetch();
    const inbox = new InboxState(request, response([buildItem()]), { me: 'u-me', fetch: fn });

    let settled = false;
    const claimed = inbox.act('lead-1', { action: 'claim' }).then((r) => ((settled = true), r));
    calls[0]!.answer(200, { ok: true });
    await settle();
    inbox.applyChange({ leadIds: ['lead-9'], byUserId: '' });
    await vi.advanceTimersByTimeAsync(REFETCH_DEBOUNCE_MS);
    calls[1]!.answer(200, response([buildItem({ ownerId: 'u-me', ownerName: 'Me' })]));
    await settle();

    expect([settled, await claimed, calls.length, inbox.loading]).toEqual([true, '', 3, true]);
  });
});
