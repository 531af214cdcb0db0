import { describe, expect, it } from 'vitest';
import { contactSignals, normaliseEmail, normalisePhone } from '../../../../ingest/pipeline/normalise-identity';

describe('normaliseEmail', () => {
  it.each([
    ['  Ana.Lopez@Acme-Dental.ES ', { email: 'ana.lopez@acme-dental.es', domain: 'acme-dental.es', freeMail: false }],
    ['someone@gmail.com', { email: 'someone@gmail.com', domain: 'gmail.com', freeMail: true }],
    ['x@sub.example.co.uk', { email: 'x@sub.example.co.uk', domain: 'sub.example.co.uk', freeMail: false }]
  ])('normalises %s', (raw, expected) => {
    expect(normaliseEmail(raw)).toEqual(expected);
  });

  it.each(['not an email', 'a@b', 'a b@c.com', '@example.com', 'a@-x.com', 'a@@b.com', ''])('refuses %j', (raw) => {
    expect(normaliseEmail(raw)).toBeNull();
  });
});

describe('normalisePhone', () => {
  it('gives E.164 for international numbers in any common spelling', () => {
    for (const raw of ['+34 612 34 56 78', '+34-612-345-678', '(+34) 612345678', '0034 612 345 678']) {
      expect([raw, normalisePhone(raw, raw.startsWith('00') ? 'ES' : undefined)]).toEqual([raw, '+34612345678']);
    }
  });

  it('needs a default region for a national number, and refuses invalid ones', () => {
    expect(normalisePhone('612 34 56 78')).toBeNull();
    expect(normalisePhone('612 34 56 78', 'ES')).toBe('+34612345678');
    expect(normalisePhone('+34 1')).toBeNull();
    expect(normalisePhone('call me maybe')).toBeNull();
  });
});

describe('contactSignals', () => {
  it('turns a work email and a phone into two strong identities and derived fields', () => {
    expect(contactSignals({ email: 'Ana@Acme.io', phone: '+44 7911 123456' })).toEqual({
      identities: ['email:ana@acme.io', 'phone:+447911123456'],
      derived: { emailNormalised: 'ana@acme.io', emailDomain: 'acme.io', freeMail: false, companyDomain: 'acme.io', phoneE164: '+447911123456' }
    });
  });

  it('marks free mail and derives no company from it', () => {
    expect(contactSignals({ email: 'ana@gmail.com' }).derived).toEqual({ emailNormalised: 'ana@gmail.com', emailDomain: 'gmail.com', freeMail: true });
  });

  it('yields no identity from weak or invalid signals', () => {
    expect(contactSignals({ email: 'nope', phone: '12345' })).toEqual({ identities: [], derived: {} });
  });
});
