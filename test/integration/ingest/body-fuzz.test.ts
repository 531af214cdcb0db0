import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../src/lib/contracts/events';
import { apiErrorSchema, ingestResponseSchema } from '../../../src/lib/contracts/ingest';
import type { AppContext } from '../../../src/lib/server/app-context';
import { queryRows } from '../../../src/lib/server/db/clickhouse';
import { sql } from '../../../src/lib/server/db/sql';
import { handleIngest, INGEST_PATH } from '../../../src/lib/server/ingest-endpoint';
import { createTestContext } from '../../helpers/app';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';
import { seedOrganisation, type SeededOrg } from '../../helpers/seed';
import { listenIngest, type IngestServer } from '../../helpers/ingest-server';

/**
 * Issue 4: 10,000 fuzzed bodies over real HTTP to the production ingest path (serveIngest →
 * handleIngest → writer → ClickHouse). Every answer must be a 4xx with a JSON body that says
 * what was wrong; in a mixed batch the valid neighbours must be stored, and nothing from a body
 * refused as a whole may be. The seed is fixed (printed), so a failure reproduces.
 */
const SEED = 20261202;
const CASES = 10_000;
const IN_FLIGHT = 64;
const MAX_EVENTS = 40;
const MAX_BYTES = 32_768;

let db: TestDatabase;
let ctx: AppContext;
let org: SeededOrg;
let server: IngestServer;
let port: number;

beforeAll(async () => {
  db = await createTestDatabase('body_fuzz_test');
  ctx = createTestContext(db, {
    INGEST_MAX_EVENTS: String(MAX_EVENTS),
    INGEST_MAX_BYTES: String(MAX_BYTES),
    INGEST_MAX_REQUESTS_PER_KEY: '1000000',
    // Fewer, larger inserts (the production default): thousands of tiny parts make dropping the
    // test database slow on this disk.
    INGEST_FLUSH_MS: '50'
  });
  org = await seedOrganisation(db.client, 'Body Fuzz Org');
  server = await listenIngest((r) => handleIngest(ctx, r));
  port = server.port;
});
afterAll(async () => {
  await server?.close();
  await ctx?.close();
  await db?.drop();
});

/** One fuzzed request and what must come of it. */
interface FuzzCase {
  kind: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Event ids that must be stored (valid items of a batch answered item by item). */
  stored: string[];
  /** Item indexes that must be rejected, when the answer is per item; undefined: refused whole. */
  rejectedIndexes?: number[];
}

/** Strings that trip parsers and encoders: quotes, escapes, NUL, lone surrogates, BOM, RTL, emoji. */
const edgeText = fc.string({
  unit: fc.oneof(
    fc.constantFrom('"', '\\', '\0', '\n', '\r', '\t', '\u2028', '\u2029', '\uFEFF', '\u202E', '\uD800', '\uDFFF', '😀', 'é', 'ß', '\u0301', '</script>', "'; DROP TABLE events; --"),
    fc.string({ minLength: 1, maxLength: 1 })
  ),
  maxLength: 60
});

let serial = 0;
const NOW = Date.UTC(2026, 11, 2);
/** A valid event with a unique id; its free text is fuzzed (still valid). */
const validEvent: fc.Arbitrary<AgentEvent> = fc
  .record({
    kind: fc.constantFrom('message', 'stage_changed', 'lead_qualified'),
    lead: fc.integer({ min: 0, max: 200 }),
    text: edgeText,
    // Mostly the last 30 days, as agents send; sometimes the ends of the accepted range (each
    // distinct month is a part per insert, so a uniform spread would mostly measure merges).
    ms: fc.oneof(
      { weight: 50, arbitrary: fc.integer({ min: NOW - 30 * 86_400_000, max: NOW }) },
      { weight: 1, arbitrary: fc.constantFrom(0, Date.UTC(2100, 0, 1) - 1, Date.UTC(2000, 1, 29, 12)) }
    )
  })
  .map(({ kind, lead, text: fuzzed, ms }): AgentEvent => {
    // Some units are many characters long; stay under the 200-character intent limit.
    const text = fuzzed.slice(0, 150);
    const common = { eventId: `fz-${serial++}`, leadId: `fz-lead-${lead}`, occurredAt: new Date(ms).toISOString() };
    if (kind === 'message') return { ...common, type: 'message', channel: 'webchat', direction: 'inbound', text };
    if (kind === 'stage_changed') return { ...common, type: 'stage_changed', stage: 'qualified', summary: text };
    return { ...common, type: 'lead_qualified', intent: text.length > 0 ? text : 'book', confidence: 0.5 };
  });

/** Nested arrays or objects `depth` deep, as JSON text (JSON.stringify itself would recurse). */
const deepJson = (depth: number, open: string, close: string) => open.repeat(depth) + close.repeat(depth);

/** Changes that make an event invalid, whatever else it holds. */
const breakEvent: fc.Arbitrary<(e: Record<string, unknown>) => unknown> = fc.oneof(
  fc.constantFrom(
    (e: Record<string, unknown>) => ({ ...e, type: 'fax' }),
    (e: Record<string, unknown>) => ({ ...e, type: 42 }),
    (e: Record<string, unknown>) => ({ ...e, leadId: 7 }),
    (e: Record<string, unknown>) => ({ ...e, leadId: 'has spaces' }),
    (e: Record<string, unknown>) => ({ ...e, eventId: '' }),
    (e: Record<string, unknown>) => ({ ...e, eventId: 'x'.repeat(129) }),
    (e: Record<string, unknown>) => ({ ...e, occurredAt: '1969-07-20T20:17:40Z' }),
    (e: Record<string, unknown>) => ({ ...e, occurredAt: 'yesterday' }),
    (e: Record<string, unknown>) => ({ ...e, occurredAt: 1_700_000_000_000 }),
    (e: Record<string, unknown>) => ({ ...e, channel: 'pigeon' }),
    (e: Record<string, unknown>) => ({ ...e, orgId: 'someone-else' }),
    (e: Record<string, unknown>) => ({ ...e, summary: 'x'.repeat(501) }),
    (e: Record<string, unknown>) => ({ ...e, summary: { nested: true } }),
    (e: Record<string, unknown>) => ({ ...e, summary: null }),
    (e: Record<string, unknown>) => {
      const { leadId: _l, ...rest } = e;
      return rest;
    },
    () => null,
    () => 'an event',
    () => 3.14,
    () => [],
    () => true
  ),
  fc.string({ minLength: 1, maxLength: 20 }).map((key) => (e: Record<string, unknown>) => ({ ...e, [`x_${key}`]: 1 })),
  fc.integer({ min: 10, max: 2_000 }).map((depth) => (e: Record<string, unknown>) => ({ ...e, eventId: JSON.parse(deepJson(depth, '[', ']')) as unknown }))
);

const item = fc.oneof(
  { weight: 3, arbitrary: validEvent.map((e) => ({ value: e as unknown, valid: true, id: e.eventId })) },
  { weight: 2, arbitrary: fc.tuple(validEvent, breakEvent).map(([e, f]) => ({ value: f(e as unknown as Record<string, unknown>), valid: false, id: e.eventId })) }
);

const auth = () => ({ authorization: `Bearer ${org.apiKey}` });
const json = () => ({ ...auth(), 'content-type': 'application/json' });

/** A batch with at least one invalid item: answered 400 item by item, the valid ones stored. */
const mixedBatch: fc.Arbitrary<FuzzCase> = fc
  .tuple(fc.array(item, { minLength: 0, maxLength: MAX_EVENTS - 1 }), item.filter((i) => !i.valid), fc.nat(), fc.boolean(), fc.boolean())
  .map(([items, bad, at, ndjson, gzip]) => {
    const all = [...items];
    all.splice(at % (all.length + 1), 0, bad);
    const text = ndjson ? all.map((i) => JSON.stringify(i.value)).join('\n') : JSON.stringify(all.map((i) => i.value));
    const headers: Record<string, string> = { ...auth(), 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' };
    if (gzip) headers['content-encoding'] = 'gzip';
    return {
      kind: `mixed ${ndjson ? 'ndjson' : 'json'}${gzip ? ' gzip' : ''}`,
      headers,
      body: gzip ? gzipSync(text) : Buffer.from(text),
      stored: all.filter((i) => i.valid).map((i) => i.id as string),
      rejectedIndexes: all.flatMap((i, n) => (i.valid ? [] : [n]))
    };
  })
  // Over the byte limit it is a 413 instead: that is the `tooLarge` case's business.
  .filter((c) => c.body.length < MAX_BYTES / 2);

/** NDJSON with lines that are not JSON: each such line rejected by number, the others stored. */
const ndjsonWithBrokenLines: fc.Arbitrary<FuzzCase> = fc
  .tuple(fc.array(validEvent, { minLength: 1, maxLength: 10 }), fc.array(fc.tuple(fc.nat(), edgeText.filter((t) => t.trim() !== '' && !isJson(t.trim()) && !t.includes('\n'))), { minLength: 1, maxLength: 3 }))
  .map(([events, garbage]) => {
    const lines: { text: string; id?: string }[] = events.map((e) => ({ text: JSON.stringify(e), id: e.eventId }));
    for (const [at, text] of garbage) lines.splice(at % (lines.length + 1), 0, { text });
    // Blank lines are skipped, so indexes count only non-blank lines.
    const kept = lines.filter((l) => l.text.trim() !== '');
    return {
      kind: 'ndjson broken lines',
      headers: { ...auth(), 'content-type': 'application/x-ndjson' },
      body: Buffer.from(lines.map((l) => l.text).join('\n')),
      stored: events.map((e) => e.eventId),
      rejectedIndexes: kept.flatMap((l, n) => (l.id ? [] : [n]))
    };
  });

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A body refused as a whole (stores nothing): its events must not appear in ClickHouse. */
const whole = (kind: string, headers: Record<string, string>, body: Buffer | string): FuzzCase => ({
  kind,
  headers,
  body: typeof body === 'string' ? Buffer.from(body) : body,
  stored: []
});

const validBody = fc.array(validEvent, { minLength: 1, maxLength: 5 }).map((es) => JSON.stringify(es));

const refusedWhole: fc.Arbitrary<FuzzCase> = fc.oneof(
  // Truncated: a strict prefix of a JSON array or object is never JSON.
  fc.tuple(validBody, fc.nat()).map(([b, n]) => whole('truncated json', json(), b.slice(0, n % b.length))),
  // Top-level values that are not events.
  fc.constantFrom('42', '"events"', 'null', 'true', '[]', '{}x', 'NaN', "{'single': 'quotes'}", '\uFEFF[', '[1,]').map((b) => whole('not events', json(), b)),
  // Deep nesting: one object whose only field is nested thousands deep (answered per item, nothing accepted).
  fc.integer({ min: 100, max: 15_000 }).map((d) => whole('deep nesting', json(), deepJson(d, '[', ']').replace(/^\[/, '{"a":[').replace(/\]$/, ']}').slice(0, MAX_BYTES - 10))),
  // Wrong or missing content types: 415 before the body is read.
  fc.tuple(validBody, fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'text/json', 'application/jsonx', ''))
    .map(([b, type]) => whole(`content type ${type || 'none'}`, type ? { ...auth(), 'content-type': type } : auth(), b)),
  // Bad gzip: random bytes, a cut-off stream, or plain JSON that says it is gzip.
  fc.tuple(validBody, fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), fc.constantFrom('random', 'cut', 'plain')).map(([b, bytes, n, how]) => {
    const zipped = gzipSync(b);
    const body = how === 'random' ? Buffer.from(bytes) : how === 'cut' ? zipped.subarray(0, Math.max(1, n % zipped.length)) : Buffer.from(b);
    return whole(`bad gzip ${how}`, { ...json(), 'content-encoding': 'gzip' }, body);
  }),
  fc.tuple(validBody, fc.constantFrom('br', 'deflate', 'compress', 'x-gzip2')).map(([b, enc]) => whole(`content-encoding ${enc}`, { ...json(), 'content-encoding': enc }, b)),
  // Invalid UTF-8 inside an otherwise valid event's text.
  fc.tuple(validEvent, fc.constantFrom([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf])).map(([e, bad]) => {
    const text = JSON.stringify([{ ...e, summary: 'MARK' }]);
    const [before, after] = text.split('MARK') as [string, string];
    return whole('invalid utf-8', json(), Buffer.concat([Buffer.from(before), Buffer.from(bad), Buffer.from(after)]));
  }),
  // Too large: bytes, gzip bombs (small on the wire, large decoded), and too many events.
  fc.tuple(validEvent, fc.boolean()).map(([e, gzip]) => {
    const text = JSON.stringify([{ ...e, summary: undefined, type: 'message', channel: 'email', direction: 'inbound', text: 'x'.repeat(MAX_BYTES) }]);
    return whole(`too large${gzip ? ' gzip bomb' : ''}`, gzip ? { ...json(), 'content-encoding': 'gzip' } : json(), gzip ? gzipSync(text) : text);
  }),
  fc.array(validEvent, { minLength: MAX_EVENTS + 1, maxLength: MAX_EVENTS + 20 }).map((es) => whole('too many events', json(), JSON.stringify(es)))
);

/** Answers allowed for a body refused as a whole, by case kind prefix. */
const WHOLE_STATUS: [string, number][] = [
  ['content type', 415],
  ['content-encoding', 415],
  ['too', 413]
];

function post(c: FuzzCase): Promise<{ status: number; text: string }> {
  return new Promise((ok, fail) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: INGEST_PATH, headers: { ...c.headers, 'content-length': String(c.body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => ok({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    // A 413 may be answered before the whole body is sent and the socket closed under the writer.
    req.on('error', fail);
    req.end(c.body);
  });
}

describe('ingest under 10,000 fuzzed bodies', () => {
  it('answers each with a clear 4xx, stores the valid neighbours and nothing else', { timeout: 240_000 }, async () => {
    const cases = fc.sample(
      fc.oneof({ weight: 5, arbitrary: mixedBatch }, { weight: 1, arbitrary: ndjsonWithBrokenLines }, { weight: 4, arbitrary: refusedWhole }),
      { seed: SEED, numRuns: CASES }
    );
    console.log(`body fuzz: ${cases.length} bodies, seed ${SEED}`);
    const t0 = performance.now();
    const expected = new Set<string>();
    const kinds = new Map<string, number>();
    const failures: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        for (let i = next++; i < cases.length; i = next++) {
          const c = cases[i] as FuzzCase;
          kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
          const problem = await check(c);
          if (problem) failures.push(`case ${i} (${c.kind}, body ${JSON.stringify(c.body.subarray(0, 120).toString('latin1'))}): ${problem}`);
          else for (const id of c.stored) expected.add(id);
        }
      })
    );
    console.log(`body fuzz: answered in ${((performance.now() - t0) / 1000).toFixed(1)} s; by kind ${JSON.stringify(Object.fromEntries([...kinds].sort()))}`);
    expect(failures.slice(0, 10)).toEqual([]);

    // Every fuzzed event id is unique, so stored must equal expected exactly: nothing lost,
    // nothing from a refused body or a rejected item.
    const rows = await queryRows<{ event_id: string }>(
      db.client,
      sql`SELECT DISTINCT event_id FROM events WHERE org_id = ${org.orgId} AND startsWith(event_id, 'fz-')`
    );
    const stored = new Set(rows.map((r) => r.event_id));
    const missing = [...expected].filter((id) => !stored.has(id));
    const extra = [...stored].filter((id) => !expected.has(id));
    expect({ missing: missing.slice(0, 10), extra: extra.slice(0, 10) }).toEqual({ missing: [], extra: [] });
    expect(expected.size).toBeGreaterThan(10_000);

    // Still serving.
    const after = await post({ kind: 'after', headers: json(), body: Buffer.from(JSON.stringify([{ type: 'stage_changed', eventId: 'after-fuzz', leadId: 'l', occurredAt: new Date().toISOString(), stage: 'enquired' }])), stored: [] });
    expect(after.status).toBe(200);
  });
});

/** What is wrong with the answer to `c`, or undefined. */
async function check(c: FuzzCase): Promise<string | undefined> {
  const { status, text } = await post(c);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `status ${status} with a body that is not JSON: ${text.slice(0, 200)}`;
  }
  if (status < 400 || status > 499) return `status ${status}: ${text.slice(0, 200)}`;
  if (c.rejectedIndexes) {
    const parsed = ingestResponseSchema.safeParse(body);
    if (status !== 400 || !parsed.success) return `expected 400 item by item, got ${status}: ${text.slice(0, 300)}`;
    const { accepted, rejected } = parsed.data;
    if (accepted !== c.stored.length) return `accepted ${accepted}, expected ${c.stored.length}`;
    const indexes = rejected.map((r) => r.index);
    if (JSON.stringify(indexes) !== JSON.stringify(c.rejectedIndexes)) return `rejected ${JSON.stringify(indexes)}, expected ${JSON.stringify(c.rejectedIndexes)}`;
    const unclear = rejected.find((r) => r.message.trim().length < 5);
    if (unclear) return `unclear message ${JSON.stringify(unclear)}`;
    return undefined;
  }
  // Refused whole: an error with a message, or (all items invalid) a per-item answer with nothing accepted.
  const expectedStatus = WHOLE_STATUS.find(([prefix]) => c.kind.startsWith(prefix))?.[1];
  if (expectedStatus !== undefined && status !== expectedStatus) return `expected ${expectedStatus}, got ${status}: ${text.slice(0, 200)}`;
  const error = apiErrorSchema.safeParse(body);
  if (error.success) return error.data.message.trim().length < 5 ? `unclear message ${text}` : undefined;
  const items = ingestResponseSchema.safeParse(body);
  if (items.success && items.data.accepted === 0 && items.data.rejected.length > 0) return undefined;
  return `unexpected body ${text.slice(0, 300)}`;
}
