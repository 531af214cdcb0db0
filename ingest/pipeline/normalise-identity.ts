import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

/**
 * Identity signals from what agents capture. Strong signals (enough to merge two leads): a
 * syntactically valid email address, lower-cased; a phone number libphonenumber-js accepts as
 * valid, in E.164. Weak signals (never merged on): names, companies, a phone number without a
 * country code when the organisation has no default region, free-text handles.
 */
export type Identity = `email:${string}` | `phone:${string}`;

// The common consumer mailbox providers: their domain says nothing about an employer.
const FREE_MAIL = new Set([
  'gmail.com', 'googlemail.com', 'yahoo.com', 'yahoo.co.uk', 'yahoo.es', 'yahoo.fr', 'ymail.com', 'hotmail.com',
  'hotmail.co.uk', 'hotmail.es', 'hotmail.fr', 'outlook.com', 'outlook.es', 'live.com', 'msn.com', 'icloud.com',
  'me.com', 'mac.com', 'aol.com', 'gmx.com', 'gmx.de', 'gmx.net', 'web.de', 'proton.me', 'protonmail.com',
  'mail.com', 'yandex.com', 'yandex.ru', 'zoho.com', 'qq.com', '163.com', 'orange.fr', 'free.fr', 'libero.it'
]);

// Deliberately simple: one @, a dotted domain, no spaces. Deliverability is not checkable here.
const EMAIL = /^[^\s@]+@([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+)$/;

export interface NormalisedEmail {
  email: string;
  domain: string;
  freeMail: boolean;
}

export function normaliseEmail(raw: string): NormalisedEmail | null {
  const email = raw.trim().toLowerCase();
  const m = EMAIL.exec(email);
  if (!m || email.length > 254) return null;
  const domain = m[1]!;
  return { email, domain, freeMail: FREE_MAIL.has(domain) };
}

/** E.164, or null when the number is not valid (or has no country code and no region is known). */
export function normalisePhone(raw: string, defaultRegion?: CountryCode): string | null {
  try {
    const parsed = parsePhoneNumberFromString(raw.trim(), defaultRegion);
    return parsed?.isValid() ? parsed.number : null;
  } catch {
    // An unknown default region makes the library throw; without a region the number is weak.
    return null;
  }
}

export interface ContactSignals {
  identities: Identity[];
  /** Derived fields stored with the event (properties), for people and the model. */
  derived: Record<string, string | boolean>;
}

/** Strong identities and derived enrichment from an event's email and phone fields. */
export function contactSignals(fields: { email?: string; phone?: string }, defaultRegion?: CountryCode): ContactSignals {
  const identities: Identity[] = [];
  const derived: Record<string, string | boolean> = {};
  if (fields.email) {
    const e = normaliseEmail(fields.email);
    if (e) {
      identities.push(`email:${e.email}`);
      Object.assign(derived, { emailNormalised: e.email, emailDomain: e.domain, freeMail: e.freeMail });
      if (!e.freeMail) derived.companyDomain = e.domain;
    }
  }
  if (fields.phone) {
    const p = normalisePhone(fields.phone, defaultRegion);
    if (p) {
      identities.push(`phone:${p}`);
      derived.phoneE164 = p;
    }
  }
  return { identities, derived };
}
