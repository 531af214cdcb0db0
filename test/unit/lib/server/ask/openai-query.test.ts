import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { queryFromModel, LEAD_FILTER_TOOL } from '../../../../../src/lib/server/ask/openai-query';
import type { Logger } from '../../../../../src/lib/server/log';
import { createLanguageModel, type LanguageModel, type LanguageModelConfig } from '../../../../../src/lib/server/openai';
import { startOpenAIStub, toolCall, type OpenAIStub } from '../../../../helpers/openai-stub';

// The real openai client against a loopback server speaking its protocol: no network, no ClickHouse.

const KEY = 'sk-test-stub-key';
const NOW = Date.parse('2026-11-02T09:30:00Z');
const SEED = "Show me all deals over $50k that haven't had activity in 14 days and draft a follow-up for each";

let stub: OpenAIStub;

/** A logger that keeps the reason codes of refusals. */
function reasonLog() {
  const warn = vi.fn();
  return { log: { warn } as unknown as Logger, reasons: () => warn.mock.calls.map(([fields]) => (fields as { reason: string }).reason) };
}

function modelFor(overrides: Partial<LanguageModelConfig> = {}): LanguageModel {
  const model = createLanguageModel({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: stub.baseURL, OPENAI_MODEL: 'gpt-4o-mini', OPENAI_TIMEOUT_MS: 3_000, ...overrides });
  if (!model) throw new Error('expected a model');
  return model;
}

beforeAll(async () => {
  stub = await startOpenAIStub();
});
afterAll(() => stub.close());
beforeEach(() => stub.reset());

const unreachable = { ok: false, message: expect.stringMatching(/^The assistant could not be reached; try a simpler phrasing the local parser understands/) };

describe('createLanguageModel', () => {
  it('is null without a key, so the local parser answers', () => {
    expect(createLanguageModel({ OPENAI_API_KEY: undefined, OPENAI_BASE_URL: undefined, OPENAI_MODEL: 'gpt-4o-mini', OPENAI_TIMEOUT_MS: 1_000 })).toBeNull();
  });
});

describe('queryFromModel', () => {
  it('turns the seed sentence into a filter through the forced set_lead_filter tool', async () => {
    stub.respondWith(toolCall(LEAD_FILTER_TOOL, { filter: { minValue: 50_000, inactiveDays: 14 }, action: 'draft_follow_ups' }));

    const result = await queryFromModel(modelFor(), SEED, NOW);

    expect(result).toEqual({ ok: true, query: { filter: { minValue: 50_000, inactiveDays: 14 }, action: 'draft_follow_ups' }, source: 'openai', ignored: [] });
    expect(stub.requests).toHaveLength(1);
    const [request] = stub.requests;
    expect(request?.path).toBe('/v1/chat/completions');
    expect(request?.headers.authorization).toBe(`Bearer ${KEY}`);
    const body = request?.body as {
      model: string;
      messages: { role: string; content: string }[];
      tools: { type: string; function: { name: string; parameters: Record<string, unknown> } }[];
      tool_choice: unknown;
    };
    expect(body.model).toBe('gpt-4o-mini');
    expect(body.tools).toHaveLength(1);
    expect(body.tools[0]?.type).toBe('function');
    expect(body.tools[0]?.function.name).toBe(LEAD_FILTER_TOOL);
    expect(body.tools[0]?.function.parameters).toMatchObject({
      type: 'object',
      required: ['filter', 'action'],
      additionalProperties: false,
      properties: { filter: { type: 'object', additionalProperties: false }, action: { enum: ['list', 'draft_follow_ups'] } }
    });
    expect(body.tools[0]?.function.parameters).not.toHaveProperty('$schema');
    expect(body.tool_choice).toEqual({ type: 'function', function: { name: LEAD_FILTER_TOOL } });
    expect(body.messages).toContainEqual({ role: 'user', content: SEED });
    const system = body.messages.find((m) => m.role === 'system')?.content ?? '';
    expect(system).toContain('Today is 2026-11-02');
    expect(system).toContain('Never write SQL');
  });

  it('accepts the same call made twice', async () => {
    const args = { filter: { stages: ['booked'] }, action: 'list' };
    stub.respondWith({ kind: 'tool_calls', calls: [{ name: LEAD_FILTER_TOOL, arguments: args }, { name: LEAD_FILTER_TOOL, arguments: { action: 'list', filter: { stages: ['booked'] } } }] });
    expect(await queryFromModel(modelFor(), 'booked leads', NOW)).toEqual({ ok: true, query: args, source: 'openai', ignored: [] });
  });

  const unreadable = expect.stringMatching(/^The assistant's answer could not be read; try a simpler phrasing/);
  const invalid = (fragment: string) => expect.stringMatching(new RegExp(`^The assistant's filter was not valid \\(.*${fragment}.*\\); try a simpler phrasing`));
  const noFilter = expect.stringMatching(/^The assistant did not turn that into a filter/);

  it.each([
    ['arguments that are not JSON', toolCall(LEAD_FILTER_TOOL, '{"filter": {"minValue": 50000'), unreadable],
    ['an extra sql key', toolCall(LEAD_FILTER_TOOL, { filter: {}, action: 'list', sql: 'DROP TABLE events' }), invalid('unexpected fields')],
    ['an extra key inside the filter', toolCall(LEAD_FILTER_TOOL, { filter: { where: '1=1' }, action: 'list' }), invalid('unexpected fields in filter')],
    ['SQL in an enum field', toolCall(LEAD_FILTER_TOOL, { filter: { stages: ['won; DROP TABLE events'] }, action: 'list' }), invalid('filter.stages.0')],
    ['SQL in a free-text field', toolCall(LEAD_FILTER_TOOL, { filter: { intent: "x'; DROP TABLE events; --" }, action: 'list' }), invalid('filter.intent looks like code')],
    ['a huge number', toolCall(LEAD_FILTER_TOOL, { filter: { minValue: 1e30 }, action: 'list' }), invalid('filter.minValue')],
    ['negative days', toolCall(LEAD_FILTER_TOOL, { filter: { inactiveDays: -14 }, action: 'list' }), invalid('filter.inactiveDays')],
    ['fractional days', toolCall(LEAD_FILTER_TOOL, { filter: { inactiveDays: 1.5 }, action: 'list' }), invalid('filter.inactiveDays')],
    ['a wrong action', toolCall(LEAD_FILTER_TOOL, { filter: {}, action: 'delete_leads' }), invalid('action')],
    ['a smallest value above the largest', toolCall(LEAD_FILTER_TOOL, { filter: { minValue: 10, maxValue: 5 }, action: 'list' }), invalid('filter.maxValue')],
    ['a wrong tool name', toolCall('run_sql', { query: 'SELECT * FROM events' }), noFilter],
    ['no tool call, only words', { kind: 'content', content: 'SELECT * FROM leads WHERE value > 50000' } as const, noFilter],
    [
      'two different answers',
      { kind: 'tool_calls', calls: [{ name: LEAD_FILTER_TOOL, arguments: { filter: { minValue: 1 }, action: 'list' } }, { name: LEAD_FILTER_TOOL, arguments: { filter: { minValue: 2 }, action: 'list' } }] } as const,
      expect.stringMatching(/more than one different answer/)
    ],
    ['a body that is not a chat completion', { kind: 'raw', body: '{"choices": []}' } as const, unreadable],
    ['malformed JSON under application/json', { kind: 'raw', body: '{"id": "chatcmpl-1", "choices": [' } as const, unreadable],
    ['an HTML page', { kind: 'raw', body: '<html>gateway</html>', contentType: 'text/html' } as const, unreadable]
  ])('refuses %s with a message, never throwing', async (_name, reply, message) => {
    stub.respondWith(reply);
    const result = await queryFromModel(modelFor(), 'anything', NOW);
    expect(result).toEqual({ ok: false, message });
    // What the model wrote is never echoed back to the person.
    expect(JSON.stringify(result)).not.toMatch(/DROP|SELECT|1=1/);
  });

  it('logs why it refused, without the arguments', async () => {
    const warn = vi.fn();
    stub.respondWith(toolCall(LEAD_FILTER_TOOL, { filter: {}, action: 'list', sql: 'DROP TABLE events' }));
    await queryFromModel(modelFor(), 'anything', NOW, { warn } as unknown as Logger);
    expect(warn).toHaveBeenCalledWith({ model: 'gpt-4o-mini', reason: 'schema', detail: undefined }, 'model query refused');
  });

  it('retries a 500 once, then refuses as unreachable', async () => {
    stub.respondAlways({ kind: 'error', status: 500, message: 'upstream exploded', headers: { 'retry-after-ms': '10' } });
    const { log, reasons } = reasonLog();
    expect(await queryFromModel(modelFor(), SEED, NOW, log)).toEqual(unreachable);
    expect(reasons()).toEqual(['http_error']);
    expect(stub.requests).toHaveLength(2);
  });

  it('answers after one retried 500', async () => {
    stub.respondWith(
      { kind: 'error', status: 500, headers: { 'retry-after-ms': '10' } },
      toolCall(LEAD_FILTER_TOOL, { filter: { channels: ['whatsapp'] }, action: 'list' })
    );
    expect(await queryFromModel(modelFor(), 'whatsapp leads', NOW)).toEqual({ ok: true, query: { filter: { channels: ['whatsapp'] }, action: 'list' }, source: 'openai', ignored: [] });
    expect(stub.requests).toHaveLength(2);
  });

  it('refuses a rejected key (401) without retrying', async () => {
    stub.respondAlways({ kind: 'error', status: 401, message: 'Incorrect API key provided', type: 'invalid_request_error' });
    expect(await queryFromModel(modelFor(), SEED, NOW)).toEqual(unreachable);
    expect(stub.requests).toHaveLength(1);
  });

  it('gives up at OPENAI_TIMEOUT_MS when the model is slow', async () => {
    stub.respondAlways({ kind: 'delay', ms: 10_000, then: toolCall(LEAD_FILTER_TOOL, { filter: {}, action: 'list' }) });
    const started = Date.now();
    const { log, reasons } = reasonLog();
    expect(await queryFromModel(modelFor({ OPENAI_TIMEOUT_MS: 200 }), SEED, NOW, log)).toEqual(unreachable);
    expect(reasons()).toEqual(['timeout']);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('keeps to OPENAI_TIMEOUT_MS even when a 429 asks to wait a minute', async () => {
    stub.respondAlways({ kind: 'error', status: 429, type: 'rate_limit_exceeded', headers: { 'retry-after': '60' } });
    const started = Date.now();
    const { log, reasons } = reasonLog();
    expect(await queryFromModel(modelFor({ OPENAI_TIMEOUT_MS: 300 }), SEED, NOW, log)).toEqual(unreachable);
    expect(reasons()).toEqual(['timeout']);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('keeps to OPENAI_TIMEOUT_MS when the body never finishes', async () => {
    stub.respondAlways({ kind: 'stall_body' });
    const { log, reasons } = reasonLog();
    const started = Date.now();
    expect(await queryFromModel(modelFor({ OPENAI_TIMEOUT_MS: 300 }), SEED, NOW, log)).toEqual(unreachable);
    expect(reasons()).toEqual(['timeout']);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('refuses as unreachable when nothing listens', async () => {
    const gone = await startOpenAIStub();
    const baseURL = gone.baseURL;
    await gone.close();
    const { log, reasons } = reasonLog();
    expect(await queryFromModel(modelFor({ OPENAI_BASE_URL: baseURL }), SEED, NOW, log)).toEqual(unreachable);
    expect(reasons()).toEqual(['connection']);
  });
});
