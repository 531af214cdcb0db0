import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { channels, type Channel } from '../../../../../src/lib/contracts/events';
import { followUpDraftSchema, LOW_CONFIDENCE } from '../../../../../src/lib/contracts/follow-ups';
import { contextConfidence, draftFollowUp, FOLLOW_UP_TOOL, UNUSABLE_DRAFT_CAVEAT, type DraftContext } from '../../../../../src/lib/server/follow-ups/draft';
import { templateLanguages } from '../../../../../src/lib/server/follow-ups/templates';
import type { Logger } from '../../../../../src/lib/server/log';
import { createLanguageModel, type LanguageModel } from '../../../../../src/lib/server/openai';
import { startOpenAIStub, toolCall, type OpenAIStub } from '../../../../helpers/openai-stub';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-02T09:00:00Z');

/** A lead with everything a draft could want; tests blank out what they are about. */
function buildContext(overrides: Partial<DraftContext> = {}): DraftContext {
  return {
    leadId: 'lead-1',
    contactName: 'Ana Souza',
    language: 'en',
    channel: 'whatsapp',
    stage: 'qualified',
    intent: 'dental implants',
    orgName: 'Smile Clinic',
    senderName: 'Bob',
    lastMessages: [
      { direction: 'outbound', text: 'Hello! How can we help?', at: T0 },
      { direction: 'inbound', text: 'I would like to know more about implants.', at: T0 + HOUR }
    ],
    riskWords: ['No reply for 3 days after qualification'],
    ...overrides
  };
}

const UNFILLED = /[{}[\]<>]|undefined|null|NaN/;

describe('draftFollowUp without a model (templates)', () => {
  for (const channel of channels) {
    for (const language of templateLanguages) {
      it(`drafts a valid ${channel} message in ${language} with the first name and nothing unfilled`, async () => {
        const draft = await draftFollowUp(buildContext({ channel, language }), null);
        expect(followUpDraftSchema.parse(draft)).toEqual(draft);
        expect(draft).toMatchObject({ leadId: 'lead-1', channel, language, source: 'template', confidence: 0.8, caveats: [] });
        expect(draft.text).toContain('Ana');
        expect(draft.text).not.toContain('Souza');
        expect(draft.text).toContain('dental implants');
        expect(draft.text).not.toMatch(UNFILLED);
        if (channel === 'email') {
          expect(draft.subject).toMatch(/\S/);
          expect(draft.subject).not.toMatch(UNFILLED);
          expect(draft.text).toContain('Bob');
        } else {
          expect(draft.subject).toBeUndefined();
        }
        if (channel === 'phone') expect(draft.text.split('\n')).toEqual([expect.stringMatching(/^• /), expect.stringMatching(/^• /), expect.stringMatching(/^• /)]);
        if (channel === 'whatsapp' || channel === 'sms') expect(draft.text.length).toBeLessThan(320);
      });
    }
  }

  it('reads the primary subtag of the language', async () => {
    const draft = await draftFollowUp(buildContext({ language: 'pt-BR' }), null);
    expect(draft.language).toBe('pt');
    expect(draft.text).toMatch(/^Olá Ana,\n/);
  });

  it('drafts in English with a caveat and lower confidence when the language is unknown', async () => {
    const known = await draftFollowUp(buildContext(), null);
    const unknown = await draftFollowUp(buildContext({ language: '' }), null);
    expect(unknown).toMatchObject({ language: 'en', caveats: ['Language unknown, drafted in English'] });
    expect(unknown.text).toBe(known.text);
    expect(unknown.confidence).toBeLessThan(known.confidence);
  });

  it('drafts in English and says so for a language without a template', async () => {
    const draft = await draftFollowUp(buildContext({ language: 'ja' }), null);
    expect(draft).toMatchObject({ language: 'en', confidence: 0.65, caveats: ['No template in "ja", drafted in English'] });
  });

  it('falls below LOW_CONFIDENCE with no name, no language and no messages', async () => {
    const draft = await draftFollowUp(buildContext({ contactName: '', language: '', lastMessages: [] }), null);
    expect(draft.confidence).toBeLessThan(LOW_CONFIDENCE);
    expect(draft).toMatchObject({ language: 'en', source: 'template' });
    expect(draft.caveats).toEqual(['Language unknown, drafted in English', 'No contact name; the greeting is generic', 'No message from the customer to go on']);
    expect(draft.text).toMatch(/^Hi,\n/);
  });

  it('treats a phone number stored as the name as no name', async () => {
    const draft = await draftFollowUp(buildContext({ contactName: '+34 600 123 456' }), null);
    expect(draft.text).toMatch(/^Hi,\n/);
    expect(draft.confidence).toBe(0.7);
  });

  it('offers to book, or checks in gently when our message went unanswered', async () => {
    expect((await draftFollowUp(buildContext(), null)).text).toContain('Would you like to book a time');
    const silent = buildContext({ lastMessages: [...buildContext().lastMessages, { direction: 'outbound', text: 'Any news?', at: T0 + 2 * HOUR }] });
    expect((await draftFollowUp(silent, null)).text).toContain('I wanted to check in about dental implants');
  });

  it('confirms a booking with its time in the organisation time zone', async () => {
    const context = buildContext({ stage: 'booked', language: 'de', bookingAt: Date.parse('2026-11-03T14:30:00Z'), timeZone: 'Europe/Berlin' });
    const draft = await draftFollowUp(context, null);
    expect(draft.text).toContain('Ihren Termin für dental implants am Dienstag, 3. November um 15:30 bestätigen');
    expect(draft.caveats).toEqual([]);
  });

  it('leaves the appointment time out, and says so, when no time zone is known', async () => {
    const draft = await draftFollowUp(buildContext({ stage: 'booked', bookingAt: Date.parse('2026-11-03T14:30:00Z') }), null);
    expect(draft.text).toContain('confirm your appointment for dental implants. Can you make it?');
    expect(draft.caveats).toEqual(['No time zone known, so the appointment time was left out']);
  });

  it('asks for the decision after a visit', async () => {
    const draft = await draftFollowUp(buildContext({ stage: 'attended', language: 'fr', channel: 'email' }), null);
    expect(draft.subject).toBe('Suite à votre visite');
    expect(draft.text).toContain('Avez-vous pu y réfléchir ?');
  });
});

describe('contextConfidence', () => {
  it('starts at 0.8 and takes off for each missing fact', () => {
    expect(contextConfidence(buildContext())).toEqual({ confidence: 0.8, caveats: [] });
    expect(contextConfidence(buildContext({ intent: '', lastMessages: [] }))).toEqual({
      confidence: 0.55,
      caveats: ['Intent unknown; the draft does not say what it is about', 'No message from the customer to go on']
    });
    expect(contextConfidence(buildContext({ contactName: '', language: '', intent: '', lastMessages: [] })).confidence).toBe(0.3);
  });
});

describe('draftFollowUp with a model (real client, stub server)', () => {
  let stub: OpenAIStub;
  let model: LanguageModel;

  beforeAll(async () => {
    stub = await startOpenAIStub();
    const created = createLanguageModel({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: stub.baseURL, OPENAI_MODEL: 'test-model', OPENAI_TIMEOUT_MS: 2_000 });
    if (!created) throw new Error('expected a model');
    model = created;
  });
  afterAll(() => stub.close());
  beforeEach(() => stub.reset());

  const esText = 'Hola Ana, ¿te gustaría reservar una cita para los implantes? Dime qué día te viene bien. — Bob';

  it('uses a valid draft, with the confidence capped by what the context allows', async () => {
    stub.respondWith(toolCall(FOLLOW_UP_TOOL, { text: esText, confidence: 0.99, caveats: ['Check the tone'] }));
    const context = buildContext({ language: 'es-MX', lastMessages: [] });

    const draft = await draftFollowUp(context, model);

    expect(draft).toEqual({
      leadId: 'lead-1',
      channel: 'whatsapp',
      language: 'es',
      text: esText,
      confidence: 0.65,
      caveats: ['No message from the customer to go on', 'Check the tone'],
      source: 'openai'
    });
    const body = stub.requests[0]?.body as { model: string; messages: { role: string; content: string }[]; tools: { function: { name: string; parameters: unknown } }[]; tool_choice: unknown };
    expect(body.model).toBe('test-model');
    expect(body.tools.map((t) => t.function.name)).toEqual([FOLLOW_UP_TOOL]);
    expect(body.tools[0]?.function.parameters).toMatchObject({ type: 'object', required: ['text', 'confidence'] });
    expect(body.tool_choice).toEqual({ type: 'function', function: { name: FOLLOW_UP_TOOL } });
    const system = body.messages.find((m) => m.role === 'system')?.content ?? '';
    expect(system).toContain('Write in the language "es"');
    expect(system).toContain('Never invent prices');
    expect(system).toContain('No links');
    const user = JSON.parse(body.messages.find((m) => m.role === 'user')?.content ?? '{}') as Record<string, unknown>;
    expect(user).toMatchObject({ customerFirstName: 'Ana', intent: 'dental implants', organisation: 'Smile Clinic', sender: 'Bob', whyFollowUp: ['No reply for 3 days after qualification'] });
  });

  it('keeps a model confidence below the cap, and its subject for email', async () => {
    stub.respondWith(toolCall(FOLLOW_UP_TOOL, { text: 'Dear Ana,\n\nWould you like to book a visit about implants?\n\nKind regards,\nBob', subject: 'Your implant enquiry', confidence: 0.5, caveats: [] }));
    const draft = await draftFollowUp(buildContext({ channel: 'email' }), model);
    expect(draft).toMatchObject({ source: 'openai', subject: 'Your implant enquiry', confidence: 0.5, caveats: [] });
  });

  it('uses the language the model reports when the lead has none', async () => {
    stub.respondWith(toolCall(FOLLOW_UP_TOOL, { text: esText, confidence: 0.9, caveats: [], language: 'es' }));
    const draft = await draftFollowUp(buildContext({ language: '' }), model);
    expect(draft).toMatchObject({ source: 'openai', language: 'es', confidence: 0.65, caveats: ['Language unknown; the assistant wrote in "es"'] });
  });

  it('cleans the model caveats and keeps at most five', async () => {
    const caveats = ['one\u0007', 'two', 'three', 'four', 'five', 'six'];
    stub.respondWith(toolCall(FOLLOW_UP_TOOL, { text: 'Hi Ana, shall we book a time for your implants?', confidence: 0.7, caveats }));
    const draft = await draftFollowUp(buildContext(), model);
    expect(draft.caveats).toEqual(['one', 'two', 'three', 'four', 'five']);
  });

  const valid = { text: 'Hi Ana, shall we book a time?', confidence: 0.7, caveats: [] };
  it.each([
    ['text of 5,000 characters', toolCall(FOLLOW_UP_TOOL, { ...valid, text: 'a'.repeat(5_000) }), 'whatsapp', 'schema'],
    ['text over the chat limit', toolCall(FOLLOW_UP_TOOL, { ...valid, text: 'Hi Ana. '.repeat(100) }), 'whatsapp', 'too_long'],
    ['a bell control character', toolCall(FOLLOW_UP_TOOL, { ...valid, text: 'Hi Ana,\u0007 shall we book?' }), 'whatsapp', 'control_characters'],
    ['a right-to-left override', toolCall(FOLLOW_UP_TOOL, { ...valid, text: 'Hi Ana, \u202eshall we book?' }), 'whatsapp', 'control_characters'],
    ['missing text', toolCall(FOLLOW_UP_TOOL, { confidence: 0.9, caveats: [] }), 'whatsapp', 'schema'],
    ['blank text', toolCall(FOLLOW_UP_TOOL, { ...valid, text: ' \n ' }), 'whatsapp', 'empty'],
    ['a confidence above 1', toolCall(FOLLOW_UP_TOOL, { ...valid, confidence: 7 }), 'whatsapp', 'schema'],
    ['arguments that are not JSON', toolCall(FOLLOW_UP_TOOL, '{"text": "Hi'), 'whatsapp', 'invalid_json'],
    ['a link', toolCall(FOLLOW_UP_TOOL, { ...valid, text: 'Hi Ana, book here: https://evil.example/book' }), 'whatsapp', 'link'],
    ['an unfilled placeholder', toolCall(FOLLOW_UP_TOOL, { ...valid, text: 'Hi [Customer Name], shall we book?' }), 'whatsapp', 'placeholder'],
    ['an invented price', toolCall(FOLLOW_UP_TOOL, { ...valid, text: 'Hi Ana, implants are only $499 this week!' }), 'whatsapp', 'invented_amount'],
    ['a subject with a line break', toolCall(FOLLOW_UP_TOOL, { ...valid, subject: 'Hello\nBcc: all@example.test' }), 'email', 'control_characters'],
    ['a call script that is not three lines', toolCall(FOLLOW_UP_TOOL, { ...valid, text: '• Say hello and book.' }), 'phone', 'not_three_lines'],
    ['the wrong tool', toolCall('send_message', valid), 'whatsapp', 'no_tool_call'],
    ['no tool call', { kind: 'content', content: 'Hi Ana, shall we book?' } as const, 'whatsapp', 'no_tool_call'],
    ['a server error', { kind: 'error', status: 500, headers: { 'retry-after-ms': '5' } } as const, 'whatsapp', 'http_error']
  ])('falls back to the template on %s', async (_name, reply, channel, reason) => {
    stub.respondAlways(reply);
    const context = buildContext({ channel: channel as Channel });
    const template = await draftFollowUp(context, null);
    const warn = vi.fn();

    const draft = await draftFollowUp(context, model, { warn } as unknown as Logger);

    expect(draft).toEqual({ ...template, caveats: [UNUSABLE_DRAFT_CAVEAT] });
    expect(warn).toHaveBeenCalledWith({ leadId: 'lead-1', model: 'test-model', reason }, 'model draft unusable; template used');
  });

  it('falls back to the template when the model is slower than the timeout', async () => {
    const slow = createLanguageModel({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: stub.baseURL, OPENAI_MODEL: 'test-model', OPENAI_TIMEOUT_MS: 150 });
    stub.respondAlways({ kind: 'delay', ms: 5_000, then: toolCall(FOLLOW_UP_TOOL, valid) });
    const draft = await draftFollowUp(buildContext(), slow);
    expect(draft).toMatchObject({ source: 'template', caveats: [UNUSABLE_DRAFT_CAVEAT] });
  });

  it('accepts an amount the customer mentioned', async () => {
    const context = buildContext({ lastMessages: [{ direction: 'inbound', text: 'Is it still 1,200 euros?', at: T0 }] });
    stub.respondWith(toolCall(FOLLOW_UP_TOOL, { ...valid, text: 'Hi Ana, yes, as discussed: €1.200. Shall we book?' }));
    expect(await draftFollowUp(context, model)).toMatchObject({ source: 'openai' });
  });
});
