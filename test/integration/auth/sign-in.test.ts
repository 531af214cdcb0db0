import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLimits, type AppContext } from '../../../src/lib/server/app-context';
import { hashPassword } from '../../../src/lib/server/auth/password';
import { validateSessionToken } from '../../../src/lib/server/auth/session';
import { addressKey, signIn, WRONG_CREDENTIALS } from '../../../src/lib/server/auth/sign-in';
import { saveUser } from '../../../src/lib/server/db/queries/identity';
import { createTestContext } from '../../helpers/app';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';
import { seedOrganisation, type SeededOrg } from '../../helpers/seed';

const MINUTE = 60_000;
let db: TestDatabase;
let ctx: AppContext;
let org: SeededOrg;
let t: number;

beforeAll(async () => {
  db = await createTestDatabase('auth_sign_in_test');
  // Defaults for the account (5 per 15 min); a small address limit keeps the spraying test short.
  ctx = createTestContext(db, { LOGIN_MAX_PER_ADDRESS: '8' });
  org = await seedOrganisation(db.client, 'Sign-in Org');
});
beforeEach(() => {
  // Fresh limits on a hand-moved clock for every test.
  t = Date.parse('2026-11-01T10:00:00Z');
  ctx.limits = createLimits(ctx.config, () => t);
});
afterAll(async () => {
  await ctx.close();
  await db.drop();
});

const wrong = { ok: false, status: 400, message: WRONG_CREDENTIALS };
const attempt = (email: string, password: string, address = '203.0.113.7') => signIn(ctx, { email, password, address });

describe('signIn', () => {
  it('creates a session for the right password, ignoring case and spaces in the email', async () => {
    const result = await attempt(`  ${org.user.email.toUpperCase()} `, org.user.password);
    if (!result.ok) throw new Error(`sign-in failed: ${result.message}`);
    expect(result.user).toMatchObject({ userId: org.user.userId, orgId: org.orgId, email: org.user.email, role: 'manager' });
    const valid = await validateSessionToken(db.client, result.token, { ttlMs: ctx.config.SESSION_TTL_HOURS * 3_600_000 });
    expect(valid?.user.userId).toBe(org.user.userId);
  });

  it('answers the same 400 for a wrong password and for an unknown email', async () => {
    expect(await attempt(org.user.email, 'not-the-password')).toEqual(wrong);
    expect(await attempt('nobody@example.test', org.user.password)).toEqual(wrong);
  });

  it('answers the same 400 for a deactivated user with the right password', async () => {
    const password = 'former-staff-secret';
    await saveUser(db.client, {
      orgId: org.orgId,
      userId: 'user-gone',
      email: 'gone@example.test',
      name: 'Gone',
      role: 'rep',
      passwordHash: await hashPassword(password),
      active: false
    });
    expect(await attempt('gone@example.test', password)).toEqual(wrong);
  });

  it('asks for both fields without counting an attempt', async () => {
    expect(await attempt('', 'x')).toEqual({ ok: false, status: 400, message: 'Enter your email and password.' });
    expect(await attempt(org.user.email, '')).toEqual({ ok: false, status: 400, message: 'Enter your email and password.' });
    expect(ctx.limits.loginPerAccount.size() + ctx.limits.loginPerAddress.size()).toBe(0);
  });

  it('refuses the 6th attempt on one account with 429 even with the right password, then lets it in after the wait', async () => {
    for (let i = 0; i < 5; i++) expect(await attempt(org.user.email, `guess-${i}`)).toEqual(wrong);
    // A new address does not help: the limit is on the account.
    const locked = { ok: false, status: 429, message: 'Too many sign-in attempts. Try again in 3 minutes.' };
    expect(await attempt(org.user.email, org.user.password, '198.51.100.1')).toEqual(locked);
    expect(await attempt(org.user.email.toUpperCase(), org.user.password, '198.51.100.2')).toEqual(locked);
    t += 2 * MINUTE + 1;
    expect(await attempt(org.user.email, org.user.password, '198.51.100.3')).toEqual({
      ok: false,
      status: 429,
      message: 'Too many sign-in attempts. Try again in 1 minute.'
    });
    t += MINUTE;
    expect(await attempt(org.user.email, org.user.password, '198.51.100.4')).toMatchObject({ ok: true });
  });

  it('refuses a client address after the address limit, across many accounts and for a real account', async () => {
    for (let i = 0; i < 8; i++) expect(await attempt(`sprayed-${i}@example.test`, 'Summer2026!')).toEqual(wrong);
    expect(await attempt(org.user.email, org.user.password)).toEqual({
      ok: false,
      status: 429,
      // 8 per 15 min: one attempt back every 112.5 s.
      message: 'Too many sign-in attempts. Try again in 2 minutes.'
    });
    // The same person from another address is not affected.
    expect(await attempt(org.user.email, org.user.password, '192.0.2.44')).toMatchObject({ ok: true });
  });

  it('clears the account count on success but keeps counting the address', async () => {
    for (let i = 0; i < 4; i++) await attempt(org.user.email, `typo-${i}`);
    expect(await attempt(org.user.email, org.user.password)).toMatchObject({ ok: true });
    // The account starts again at five: without the reset the next attempt would be its 6th.
    for (let i = 0; i < 3; i++) expect(await attempt(org.user.email, `typo-again-${i}`)).toEqual(wrong);
    // But the address has now made its 8 attempts, the success included.
    expect(await attempt(org.user.email, org.user.password)).toMatchObject({ ok: false, status: 429 });
  });

  it('counts one IPv6 /64 and an IPv4-mapped address as one client', async () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    for (let i = 0; i < 8; i++) await attempt(`v6-${i}@example.test`, 'x', `2001:db8:1:2::${i + 1}`);
    expect(await attempt(org.user.email, org.user.password, '2001:db8:1:2:ffff::9')).toMatchObject({ ok: false, status: 429 });
    expect(await attempt(org.user.email, org.user.password, '2001:db8:1:3::1')).toMatchObject({ ok: true });
  });
});
