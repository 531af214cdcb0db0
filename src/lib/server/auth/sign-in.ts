import { isIPv4, isIPv6 } from 'node:net';
import type { SessionUser } from '../../contracts/auth';
import type { AppContext } from '../app-context';
import { findUserByEmail, type SessionRecord } from '../db/queries/identity';
import { hashPassword, verifyPassword } from './password';
import type { RateDecision } from './rate-limit';
import { createSession, sessionPolicy } from './session';

export interface SignInInput {
  /** As typed; trimmed and lower-cased here. */
  email: string;
  password: string;
  /** The client's IP address (`event.getClientAddress()`). */
  address: string;
}

export type SignInResult =
  | { ok: true; token: string; session: SessionRecord; user: SessionUser }
  | { ok: false; status: 400 | 429; message: string };

/** One message for every failure, so the form does not reveal which emails exist. */
export const WRONG_CREDENTIALS = 'Email or password is wrong.';

/**
 * The sign-in form's logic, apart from SvelteKit. Both limits are checked before the user is
 * looked up or the password verified, so a client over a limit learns nothing about the
 * password, and an attempt is counted whatever its outcome. Address first: a client refused for
 * its address does not also spend the account's attempts, so once over its own limit it cannot go
 * on locking real users out.
 * Success clears the account's count (the owner is back) but not the address's, or an attacker
 * holding one valid account could reset their budget for spraying others.
 */
export async function signIn(
  ctx: Pick<AppContext, 'clickhouse' | 'config' | 'limits' | 'log'>,
  input: SignInInput
): Promise<SignInResult> {
  const email = input.email.trim().toLowerCase();
  if (!email || !input.password) return { ok: false, status: 400, message: 'Enter your email and password.' };

  const address = addressKey(input.address);
  const byAddress = await ctx.limits.loginPerAddress.consume(address);
  if (!byAddress.allowed) return tooMany(ctx, byAddress, { address, limit: 'address' });
  const byAccount = await ctx.limits.loginPerAccount.consume(email);
  if (!byAccount.allowed) return tooMany(ctx, byAccount, { address, limit: 'account' });

  const user = await findUserByEmail(ctx.clickhouse, email);
  // Verify even for an unknown email, so the answer takes as long as for a real one.
  const matches = await verifyPassword(user?.passwordHash ?? (await dummyHash()), input.password);
  if (!user || !user.active || !matches) return { ok: false, status: 400, message: WRONG_CREDENTIALS };

  await ctx.limits.loginPerAccount.reset(email);
  const { token, session } = await createSession(ctx.clickhouse, user, sessionPolicy(ctx.config));
  return {
    ok: true,
    token,
    session,
    user: { userId: user.userId, orgId: user.orgId, email: user.email, name: user.name, role: user.role }
  };
}

function tooMany(
  ctx: Pick<AppContext, 'log'>,
  decision: RateDecision,
  fields: { address: string; limit: 'address' | 'account' }
): SignInResult {
  ctx.log.warn({ ...fields, retryAfterMs: decision.retryAfterMs }, 'sign-in refused: too many attempts');
  const minutes = Math.max(1, Math.ceil(decision.retryAfterMs / 60_000));
  const wait = minutes === 1 ? '1 minute' : `${minutes} minutes`;
  return { ok: false, status: 429, message: `Too many sign-in attempts. Try again in ${wait}.` };
}

let dummy: Promise<string> | undefined;
const dummyHash = () => (dummy ??= hashPassword('no user has this password'));

/**
 * The rate-limit key of a client address. IPv6 hosts usually get a whole /64, so one client can
 * use 2^64 addresses; counting per /64 keeps it one client. An IPv4 address mapped into IPv6
 * (`::ffff:1.2.3.4`, as Node reports IPv4 clients on a dual-stack socket) counts as itself.
 */
export function addressKey(address: string): string {
  const bare = address.replace(/%.*$/, '').toLowerCase(); // drop an IPv6 zone id ("fe80::1%eth0")
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (mapped?.[1] && isIPv4(mapped[1])) return mapped[1];
  if (!isIPv6(bare)) return bare;
  const [head = '', tail] = bare.split('::');
  const toGroups = (part: string) => (part ? part.split(':') : []).flatMap(embeddedIPv4);
  const front = toGroups(head);
  const back = tail === undefined ? [] : toGroups(tail);
  const groups = [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** "1.2.3.4" at the end of an IPv6 address is two groups. */
function embeddedIPv4(group: string): string[] {
  if (!group.includes('.')) return [group];
  const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}
