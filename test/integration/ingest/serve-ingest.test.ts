import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../../src/lib/server/app-context';
import { queryRows } from '../../../src/lib/server/db/clickhouse';
import { handleIngest, INGEST_PATH } from '../../../src/lib/server/ingest-endpoint';
import { sql } from '../../../src/lib/server/db/sql';
import { buildMessage, buildStageChanged } from '../../fixtures/events';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';
import { createTestContext } from '../../helpers/app';
import { seedOrganisation, type SeededOrg } from '../../helpers/seed';
import { listenIngest, type IngestServer } from '../../helpers/ingest-server';

/**
 * The production entry serves POST /api/v1/events with `serveIngest` (Node's request, no web
 * Request, no SvelteKit); the SvelteKit route hands handleIngest a web Request. Same requests
 * through both must get the same answers and store the same rows.
 */
let db: TestDatabase;
let ctx: AppContext;
let org: SeededOrg;
let server: IngestServer;
let port: number;
let inFlight = 0;

beforeAll(async () => {
  db = await createTestDatabase('serve_ingest_test');
  ctx = createTestContext(db, { INGEST_MAX_EVENTS: '10', INGEST_MAX_BYTES: '4096' });
  org = await seedOrganisation(db.client, 'Serve Ingest Org');
  server = await listenIngest(async (r) => {
    inFlight++;
    try {
      return await handleIngest(ctx, r);
    } finally {
      inFlight--;
    }
  });
  port = server.port;
});
afterAll(async () => {
  await server?.close();
  await ctx?.close();
  await db?.drop();
});

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** One request over real HTTP to serveIngest (node:http, so headers are sent exactly as given). */
function viaNode(headers: Record<string, string>, body?: Buffer | string): Promise<Answer> {
  return new Promise((ok, fail) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: INGEST_PATH, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h[k] = v;
        ok({ status: res.statusCode ?? 0, headers: h, body: text ? (JSON.parse(text) as unknown) : null });
      });
    });
    req.on('error', fail);
    req.end(body);
  });
}

/** The same request as a web Request straight to handleIngest, as the SvelteKit route gets it. */
async function viaWeb(headers: Record<string, string>, body?: Buffer | string): Promise<Answer> {
  // adapter-node gives no body without a content type (serveIngest follows the same rule).
  const withBody = body !== undefined && body.length > 0 && headers['content-type'] !== undefined;
  const res = await handleIngest(
    ctx,
    new Request(`http://pipewall.test${INGEST_PATH}`, {
      method: 'POST',
      headers,
      body: withBody ? (typeof body === 'string' ? body : new Uint8Array(body)) : null
    })
  );
  const text = await res.text();
  return { status: res.status, headers: Object.fromEntries(res.headers), body: text ? (JSON.parse(text) as unknown) : null };
}

async function stored(leadId: string): Promise<number> {
  const [row] = await queryRows<{ n: string }>(db.client, sql`SELECT count() AS n FROM events WHERE org_id = ${org.orgId} AND lead_id = ${leadId}`);
  return Number(row?.n);
}

const json = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${org.apiKey}`, 'content-type': 'application/json', ...extra });

describe('serveIngest (the production entry’s ingest path)', () => {
  it.each([
    ['a valid batch', () => json(), (lead: string) => JSON.stringify([buildStageChanged({ leadId: lead }), buildMessage({ leadId: lead })])],
    [
      'a mixed batch',
      () => json(),
      (lead: string) => JSON.stringify([buildStageChanged({ leadId: lead }), { ...buildMessage({ leadId: lead }), orgId: 'x' }, 'no'])
    ],
    ['one event object', () => json(), (lead: string) => JSON.stringify(buildMessage({ leadId: lead }))],
    [
      'NDJSON',
      () => json({ 'content-type': 'application/x-ndjson' }),
      (lead: string) => [buildStageChanged({ leadId: lead }), buildMessage({ leadId: lead })].map((e) => JSON.stringify(e)).join('\n')
    ],
    ['a body that is not JSON', () => json(), () => '[{"type":'],
    ['no content type', () => ({ authorization: `Bearer ${org.apiKey}` }), (lead: string) => JSON.stringify([buildMessage({ leadId: lead })])],
    ['an empty body', () => json(), () => ''],
    ['no key', () => ({ 'content-type': 'application/json' }), (lead: string) => JSON.stringify([buildMessage({ leadId: lead })])],
    ['a forged key', () => json({ authorization: 'Bearer pw_aaaaaaaaaaaaaaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbb' }), () => '[]'],
    ['too many events', () => json(), (lead: string) => JSON.stringify(Array.from({ length: 11 }, () => buildStageChanged({ leadId: lead })))],
    ['a body over INGEST_MAX_BYTES', () => json(), (lead: string) => JSON.stringify([buildMessage({ leadId: lead, text: 'x'.repeat(5000) })])],
    ['an unsupported content-encoding', () => json({ 'content-encoding': 'br' }), () => '[]']
  ])('answers %s as the SvelteKit route does, and stores the same', async (name, headers, body) => {
    const slug = name.replace(/\W+/g, '-');
    const node = await viaNode(headers(), body(`node-${slug}`));
    const web = await viaWeb(headers(), body(`web-${slug}`));
    expect(node.status).toBe(web.status);
    expect(node.body).toEqual(web.body);
    expect(node.headers['content-type']).toBe(web.headers['content-type']);
    expect(node.headers['retry-after']).toBe(web.headers['retry-after']);
    expect(await stored(`node-${slug}`)).toBe(await stored(`web-${slug}`));
  });

  it('takes a gzip body, checking its size after decoding', async () => {
    const events = [buildStageChanged({ leadId: 'gz' }), buildMessage({ leadId: 'gz' })];
    const ok = await viaNode(json({ 'content-encoding': 'gzip' }), gzipSync(JSON.stringify(events)));
    expect(ok).toMatchObject({ status: 200, body: { accepted: 2, rejected: [] } });
    expect(await stored('gz')).toBe(2);
    // 5 KB of text gzips to a few dozen bytes, but is over the 4 KB limit once decoded.
    const bomb = await viaNode(json({ 'content-encoding': 'gzip' }), gzipSync(JSON.stringify([buildMessage({ leadId: 'gz-big', text: 'x'.repeat(5000) })])));
    expect(bomb.status).toBe(413);
    expect(await stored('gz-big')).toBe(0);
  });

  it('settles a request whose client goes away mid-body, and keeps serving', async () => {
    await new Promise<void>((ok) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: INGEST_PATH, headers: json({ 'content-length': '1000' }) });
      req.on('error', () => ok());
      req.write('[{"type":"message",');
      setTimeout(() => req.destroy(), 50);
    });
    for (let i = 0; i < 100 && inFlight > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(inFlight).toBe(0);
    const next = await viaNode(json(), JSON.stringify([buildStageChanged({ leadId: 'after-abort' })]));
    expect(next.status).toBe(200);
  });

  it('takes a chunked body (no content-length)', async () => {
    const res = await new Promise<number>((ok, fail) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: INGEST_PATH, headers: json() }, (r) => {
        r.resume();
        r.on('end', () => ok(r.statusCode ?? 0));
      });
      req.on('error', fail);
      const body = JSON.stringify([buildStageChanged({ leadId: 'chunked' }), buildMessage({ leadId: 'chunked' })]);
      req.write(body.slice(0, 40));
      setTimeout(() => req.end(body.slice(40)), 20);
    });
    expect(res).toBe(200);
    expect(await stored('chunked')).toBe(2);
  });
});
