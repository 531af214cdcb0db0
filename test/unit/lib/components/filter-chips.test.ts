import { describe, expect, it } from 'vitest';
import {
  SEVERAL,
  amountText,
  choicesOf,
  editFilter,
  filterChips,
  parseAmount,
  parseDays,
  removeChip,
  singleChoice
} from '../../../../src/lib/components/inbox/filter-chips';
import type { LeadFilter } from '../../../../src/lib/contracts/lead-query';

describe('filterChips', () => {
  it('words every condition of a filter, in reading order', () => {
    const filter: LeadFilter = {
      minValue: 50_000,
      maxValue: 200_000,
      inactiveDays: 14,
      activeWithinDays: 60,
      stages: ['qualified', 'booked'],
      channels: ['whatsapp', 'webchat'],
      scoreBands: ['high'],
      exceptionKinds: ['silent_after_qualification'],
      owner: { kind: 'named', name: 'Bea' },
      intent: 'implant',
      createdFrom: '2024-05-01',
      createdTo: '2024-05-31'
    };
    expect(filterChips(filter, 'EUR').map((c) => [c.field, c.label])).toEqual([
      ['minValue', 'Value ≥ €50k'],
      ['maxValue', 'Value ≤ €200k'],
      ['inactiveDays', 'No activity ≥ 14 d'],
      ['activeWithinDays', 'Active in the last 60 d'],
      ['stages', 'Stage: qualified, booked'],
      ['channels', 'Channel: WhatsApp, web chat'],
      ['scoreBands', 'Score: high (60% or more)'],
      ['exceptionKinds', 'Issue: silent after qualifying'],
      ['owner', 'Owner: Bea'],
      ['intent', 'Intent contains “implant”'],
      ['createdFrom', 'First contact on or after 2024-05-01'],
      ['createdTo', 'First contact on or before 2024-05-31']
    ]);
  });

  it('gives each chip the editor that fits its value', () => {
    const chips = filterChips({ minValue: 950, inactiveDays: 3, stages: ['won'], owner: { kind: 'me' }, intent: 'braces' }, 'GBP');
    expect(chips).toEqual([
      { field: 'minValue', label: 'Value ≥ £950', editor: { kind: 'money', value: 950 } },
      { field: 'inactiveDays', label: 'No activity ≥ 3 d', editor: { kind: 'days', value: 3 } },
      { field: 'stages', label: 'Stage: won', editor: { kind: 'choices', field: 'stages', selected: ['won'] } },
      { field: 'owner', label: 'Owner: me', editor: { kind: 'owner', value: { kind: 'me' } } },
      { field: 'intent', label: 'Intent contains “braces”', editor: { kind: 'text', value: 'braces' } }
    ]);
  });

  it('shows no chips for an empty filter', () => {
    expect(filterChips({}, 'EUR')).toEqual([]);
  });

  it('words the unclaimed owner so a person knows what it means', () => {
    expect(filterChips({ owner: { kind: 'unassigned' } }, 'EUR').map((c) => c.label)).toEqual(['Owner: nobody (unclaimed)']);
  });
});

describe('removeChip', () => {
  it('drops exactly that condition', () => {
    expect(removeChip({ minValue: 1, inactiveDays: 2, stages: ['booked'] }, 'inactiveDays')).toEqual({ minValue: 1, stages: ['booked'] });
  });
});

describe('editFilter', () => {
  it('replaces a number', () => {
    expect(editFilter({ minValue: 50_000, inactiveDays: 14 }, { field: 'inactiveDays', value: 7 })).toEqual({
      ok: true,
      filter: { minValue: 50_000, inactiveDays: 7 }
    });
  });

  it('replaces choices without duplicates, and removes the condition when none is left', () => {
    expect(editFilter({}, { field: 'channels', values: ['sms', 'email', 'sms'] })).toEqual({ ok: true, filter: { channels: ['sms', 'email'] } });
    expect(editFilter({ channels: ['sms'], minValue: 5 }, { field: 'channels', values: [] })).toEqual({ ok: true, filter: { minValue: 5 } });
  });

  it('trims text, and blank text removes it', () => {
    expect(editFilter({}, { field: 'intent', text: '  implant ' })).toEqual({ ok: true, filter: { intent: 'implant' } });
    expect(editFilter({ intent: 'x' }, { field: 'intent', text: '   ' })).toEqual({ ok: true, filter: {} });
  });

  it('sets and clears the owner', () => {
    expect(editFilter({}, { field: 'owner', owner: { kind: 'named', name: 'Bea' } })).toEqual({
      ok: true,
      filter: { owner: { kind: 'named', name: 'Bea' } }
    });
    expect(editFilter({ owner: { kind: 'me' } }, { field: 'owner', owner: undefined })).toEqual({ ok: true, filter: {} });
  });

  it('refuses what the contract refuses, in words, and keeps nothing of it', () => {
    expect(editFilter({ minValue: 50_000 }, { field: 'maxValue', value: 10_000 })).toEqual({
      ok: false,
      message: 'The largest value must not be below the smallest.'
    });
    expect(editFilter({}, { field: 'inactiveDays', value: 0 })).toEqual({ ok: false, message: 'Use a whole number of days from 1 to 3650.' });
    expect(editFilter({}, { field: 'inactiveDays', value: 2.5 })).toEqual({ ok: false, message: 'Use a whole number of days from 1 to 3650.' });
    expect(editFilter({ createdFrom: '2024-05-10' }, { field: 'createdTo', day: '2024-05-01' })).toEqual({
      ok: false,
      message: 'The last day must not be before the first.'
    });
  });

  it('inverts the chips: editing each chip to its own value gives the same filter', () => {
    const filter: LeadFilter = { minValue: 50_000, stages: ['qualified'], owner: { kind: 'unassigned' }, intent: 'implant', createdFrom: '2024-01-01' };
    let rebuilt: LeadFilter = {};
    for (const chip of filterChips(filter, 'EUR')) {
      const e = chip.editor;
      const result =
        e.kind === 'money' || e.kind === 'days'
          ? editFilter(rebuilt, { field: chip.field as 'minValue', value: e.value })
          : e.kind === 'choices'
            ? editFilter(rebuilt, { field: e.field, values: e.selected })
            : e.kind === 'owner'
              ? editFilter(rebuilt, { field: 'owner', owner: e.value })
              : e.kind === 'text'
                ? editFilter(rebuilt, { field: 'intent', text: e.value })
                : editFilter(rebuilt, { field: chip.field as 'createdFrom', day: e.value });
      expect(result.ok).toBe(true);
      if (result.ok) rebuilt = result.filter;
    }
    expect(rebuilt).toEqual(filter);
  });
});

describe('parseAmount and amountText', () => {
  it('reads amounts the way people type them', () => {
    expect(['50000', '50,000', '€50k', '50 K', '1.5m', '£ 2,500.50', '.5k'].map(parseAmount)).toEqual([
      50_000, 50_000, 50_000, 50_000, 1_500_000, 2_500.5, 500
    ]);
  });

  it('refuses what is not an amount', () => {
    expect(['', 'lots', '50kk', '-5', '5 apples'].map(parseAmount)).toEqual([null, null, null, null, null]);
  });

  it('writes amounts back the short way, and reads them again', () => {
    expect([50_000, 1_500_000, 950, 12_345].map(amountText)).toEqual(['50k', '1.5m', '950', '12345']);
    expect([50_000, 1_500_000, 950, 12_345].map((v) => parseAmount(amountText(v)))).toEqual([50_000, 1_500_000, 950, 12_345]);
  });
});

describe('parseDays', () => {
  it('reads whole days with or without a unit', () => {
    expect(['14', '14 d', '3days', '1 day', '2.5', 'two'].map(parseDays)).toEqual([14, 14, 3, 1, null, null]);
  });
});

describe('choicesOf and singleChoice', () => {
  it('lists a field’s values in the contract’s order with words', () => {
    expect(choicesOf('scoreBands')).toEqual([
      { value: 'high', label: 'high (60% or more)' },
      { value: 'medium', label: 'medium (30–60%)' },
      { value: 'low', label: 'low (under 30%)' }
    ]);
  });

  it('tells a select whether any, one or several values are picked', () => {
    expect(singleChoice({}, 'stages')).toBe('');
    expect(singleChoice({ stages: ['booked'] }, 'stages')).toBe('booked');
    expect(singleChoice({ stages: ['booked', 'won'] }, 'stages')).toBe(SEVERAL);
  });
});
