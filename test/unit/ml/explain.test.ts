import { describe, expect, it } from 'vitest';
import { explainScore, formatHours, rawFeatureOf } from '../../../ml/explain';
import type { RawFeatures } from '../../../src/lib/contracts/model';

const h = Math.log1p;

// A qualified lead: silent for 3 days after qualification, asked about Invisalign via WhatsApp,
// the agent took 4 h to answer last time.
const features: RawFeatures = {
  numeric: {
    hoursSilentAfterQualification: h(72),
    responseHoursLast: h(4),
    messagesIn: h(3),
    hasEmail: 1,
    confidence: 0.92,
    stageReached: 2
  },
  categorical: { channel: 'whatsapp', intent: 'invisalign assessment', source: 'referral' }
};
const evidence = { hoursSilentAfterQualification: 'ev-q', responseHoursLast: 'ev-reply', channel: 'ev-start', intent: 'ev-q', hasEmail: 'ev-enrich' };

const columns = [
  'num:hoursSilentAfterQualification',
  'missing:hoursSilentAfterQualification',
  'num:responseHoursLast',
  'num:messagesIn',
  'num:hasEmail',
  'num:confidence',
  'num:stageReached',
  'cat:channel=whatsapp',
  'cat:channel=email',
  'cat:channel=(other)',
  'cat:intent=invisalign assessment',
  'cat:intent=(other)',
  'cat:source=referral'
];

describe('explainScore', () => {
  it('sums columns per raw feature and keeps the largest by magnitude, in words with their event', () => {
    const contributions = Float32Array.from([-1.0, -0.25, -0.5, 0.05, 0.25, 0.1, 0.0, 0.5, 0.0, 0.125, 0.75, 0.0, 0.0]);
    const { reasons } = explainScore({ contributions, columns, features, evidence, top: 4 });
    expect(reasons).toEqual([
      { feature: 'hoursSilentAfterQualification', direction: 'down', weight: -1.25, text: 'No reply for 3 days after qualification', eventId: 'ev-q' },
      { feature: 'intent', direction: 'up', weight: 0.75, text: 'Asked about invisalign assessment', eventId: 'ev-q' },
      { feature: 'channel', direction: 'up', weight: 0.625, text: 'Came through WhatsApp', eventId: 'ev-start' },
      { feature: 'responseHoursLast', direction: 'down', weight: -0.5, text: 'Agent took 4 h to answer', eventId: 'ev-reply' }
    ]);
  });

  it('folds features that measure one thing into one reason with their net pull, worded by the member pulling that way', () => {
    // A long silence pulls down; the lead's age and the quiet since any activity pull up (the
    // model weighs correlated features against each other). One "quiet" reason, net down.
    const quiet: RawFeatures = { numeric: { hoursSinceLastInbound: h(86 * 24), leadAgeHours: h(90 * 24), hoursSinceLastActivity: h(84 * 24) }, categorical: {} };
    const cols = ['num:hoursSinceLastInbound', 'num:leadAgeHours', 'num:hoursSinceLastActivity'];
    const { reasons } = explainScore({
      contributions: Float32Array.from([-1.5, 0.5, 0.25]),
      columns: cols,
      features: quiet,
      evidence: { hoursSinceLastInbound: 'ev-in' }
    });
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatchObject({ feature: 'hoursSinceLastInbound', direction: 'down', weight: -0.75, eventId: 'ev-in' });
  });

  it('returns three reasons by default and leaves out features that contributed nothing', () => {
    const contributions = new Float32Array(columns.length);
    contributions[4] = 0.25; // hasEmail
    contributions[5] = -0.125; // confidence
    const { reasons } = explainScore({ contributions, columns, features, evidence });
    expect(reasons).toEqual([
      { feature: 'hasEmail', direction: 'up', weight: 0.25, text: 'Gave an email address', eventId: 'ev-enrich' },
      { feature: 'confidence', direction: 'down', weight: -0.125, text: 'Agent is 92% sure of the intent' }
    ]);
  });

  it('words a feature of another dataset by name and value', () => {
    const other: RawFeatures = { numeric: { tenure_months: 14.25 }, categorical: { plan: 'gold' } };
    const { reasons } = explainScore({
      contributions: Float32Array.from([0.5, -2]),
      columns: ['num:tenure_months', 'cat:plan=gold'],
      features: other,
      evidence: {}
    });
    expect(reasons).toEqual([
      { feature: 'plan', direction: 'down', weight: -2, text: 'plan: gold' },
      { feature: 'tenure_months', direction: 'up', weight: 0.5, text: 'tenure_months: 14.3' }
    ]);
  });

  it('refuses contributions that do not match the columns', () => {
    expect(() => explainScore({ contributions: new Float32Array(2), columns, features, evidence })).toThrow(RangeError);
  });
});

describe('helpers', () => {
  it('maps encoded columns to raw features', () => {
    expect(['num:a', 'missing:a', 'cat:b=x=y', 'cat:b=(other)'].map(rawFeatureOf)).toEqual(['a', 'a', 'b', 'b']);
  });

  it('formats durations the way a rep reads them', () => {
    expect([0.1, 0.5, 4.4, 47, 72, 24 * 10].map(formatHours)).toEqual(['6 min', '30 min', '4 h', '47 h', '3 days', '10 days']);
  });
});
