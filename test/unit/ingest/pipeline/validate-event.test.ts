import { describe, expect, it } from 'vitest';
import { UnparsableLine } from '../../../../ingest/pipeline/parse-body';
import { reject } from '../../../../ingest/pipeline/results';
import { validateEvent } from '../../../../ingest/pipeline/validate-event';
import { buildMessage, buildStageChanged } from '../../../fixtures/events';

describe('validateEvent', () => {
  it('passes a valid event through unchanged', () => {
    const event = buildStageChanged({ stage: 'booked' });
    expect(validateEvent(event)).toEqual({ ok: true, value: event });
  });

  it.each([
    ['a string', 'hello', reject('not_an_object', '', 'each event must be a JSON object')],
    ['an array', [1], reject('not_an_object', '', 'each event must be a JSON object')],
    ['null', null, reject('not_an_object', '', 'each event must be a JSON object')]
  ])('refuses %s as not_an_object', (_name, item, expected) => {
    expect(validateEvent(item)).toEqual(expected);
  });

  it('names the missing type and the unknown type', () => {
    const { type: _type, ...noType } = buildMessage();
    expect(validateEvent(noType)).toMatchObject({ ok: false, code: 'missing_field', field: 'type' });
    expect(validateEvent({ ...buildMessage(), type: 'fax' })).toMatchObject({ ok: false, code: 'unknown_type', field: 'type' });
  });

  it('names a missing required field', () => {
    const { leadId: _leadId, ...event } = buildMessage();
    expect(validateEvent(event)).toEqual(reject('missing_field', 'leadId', 'leadId is required'));
  });

  it('refuses an unknown field, so a payload can never pick its organisation', () => {
    expect(validateEvent({ ...buildMessage(), orgId: 'other' })).toEqual(reject('unknown_field', 'orgId', 'unknown field "orgId"'));
  });

  it.each([
    ['a stage outside the funnel', { stage: 'teleported' }, 'stage'],
    ['a time without a zone', { occurredAt: '2026-11-01T10:00:00' }, 'occurredAt'],
    ['an id with spaces', { leadId: 'lead 1' }, 'leadId'],
    ['an unknown channel', { channel: 'pigeon' }, 'channel'],
    // The ledger stores epoch ms unsigned: a pre-1970 time must be refused here, not fail the insert.
    ['a time before 1970', { occurredAt: '1969-12-31T23:59:59.999Z' }, 'occurredAt'],
    ['a time after 2099', { occurredAt: '2100-01-01T00:00:00Z' }, 'occurredAt']
  ])('refuses %s as invalid_field naming the field', (_name, patch, field) => {
    expect(validateEvent({ ...buildStageChanged(), ...patch })).toMatchObject({ ok: false, code: 'invalid_field', field });
  });

  it('accepts the first and last instants of the range', () => {
    expect(validateEvent(buildStageChanged({ occurredAt: '1970-01-01T00:00:00Z' }))).toMatchObject({ ok: true });
    expect(validateEvent(buildStageChanged({ occurredAt: '2099-12-31T23:59:59.999Z' }))).toMatchObject({ ok: true });
  });

  it('refuses an NDJSON line that was not JSON as invalid_json, naming the line', () => {
    expect(validateEvent(new UnparsableLine(3, 'line 3 is not valid JSON: x'))).toEqual(reject('invalid_json', 'line 3', 'line 3 is not valid JSON: x'));
  });

  it('refuses a deal value with more than two decimals', () => {
    const won = { type: 'deal_won', eventId: 'e1', leadId: 'l1', occurredAt: '2026-11-01T10:00:00Z', value: 10.005, currency: 'EUR' };
    expect(validateEvent(won)).toMatchObject({ ok: false, code: 'invalid_field', field: 'value' });
    expect(validateEvent({ ...won, value: 10.05 })).toMatchObject({ ok: true });
  });
});
