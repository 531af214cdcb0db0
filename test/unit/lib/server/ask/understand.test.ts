import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LEAD_FILTER_TOOL } from '../../../../../src/lib/server/ask/openai-query';
import { understand } from '../../../../../src/lib/server/ask/understand';
import { createLanguageModel, type LanguageModel } from '../../../../../src/lib/server/openai';
import { startOpenAIStub, toolCall, type OpenAIStub } from '../../../../helpers/openai-stub';

// Who answers the query bar: the local parser first, the configured model only for what the
// parser could not do fully, never for a refused-as-unsafe request. The real openai client
// against a loopback OpenAI-compatible server.

const NOW = Date.parse('2026-11-02T09:30:00Z');
let stub: OpenAIStub;
let model: LanguageModel;

beforeAll(async () => {
  stub = await startOpenAIStub();
  model = createLanguageModel({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: stub.baseURL, OPENAI_MODEL: 'gpt-4o-mini', OPENAI_TIMEOUT_MS: 3_000 })!;
});
afterAll(() => stub.close());
beforeEach(() => stub.reset());

describe('understand', () => {
  it('answers a common phrasing locally, without asking the model', async () => {
    const result = await understand('deals over 50k with no activity in 14 days', NOW, model);
    expect(result).toMatchObject({ ok: true, source: 'local', query: { filter: { minValue: 50_000, inactiveDays: 14 } } });
    expect(stub.requests).toHaveLength(0);
  });

  it('asks the model for a sentence the parser does not understand, and validates its answer', async () => {
    stub.respondWith(toolCall(LEAD_FILTER_TOOL, { filter: { stages: ['booked'], channels: ['whatsapp'] }, action: 'list' }));
    const result = await understand('folks who locked in a slot via WA', NOW, model);
    expect(result).toEqual({ ok: true, source: 'openai', ignored: [], query: { filter: { stages: ['booked'], channels: ['whatsapp'] }, action: 'list' } });
    expect(stub.requests).toHaveLength(1);
  });

  it('keeps the parser’s partial reading when the model’s answer is rejected', async () => {
    const local = await understand('deals over 50k in Paris', NOW, null);
    expect(local).toMatchObject({ ok: true, source: 'local' });
    stub.respondWith(toolCall(LEAD_FILTER_TOOL, { filter: { minValue: 50_000 }, action: 'list', sql: 'DROP TABLE events' }));
    expect(await understand('deals over 50k in Paris', NOW, model)).toEqual(local);
    expect(stub.requests).toHaveLength(1);
  });

  it('never sends a request to change data to the model: the refusal stands', async () => {
    const result = await understand('delete all lost leads', NOW, model);
    expect(result).toMatchObject({ ok: false, unsafe: true });
    expect(stub.requests).toHaveLength(0);
  });

  it('without a model, a sentence it cannot read is refused with a phrasing that works', async () => {
    const result = await understand('what is the weather like', NOW, null);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(/try|e\.g\.|for example/i);
  });
});
