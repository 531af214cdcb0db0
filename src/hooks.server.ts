import type { Handle, HandleServerError } from '@sveltejs/kit';
import { sequence } from '@sveltejs/kit/hooks';
import { deleteSessionCookie, SESSION_COOKIE, setSessionCookie } from '$lib/server/auth/cookies';
import { sessionPolicy, validateSessionToken } from '$lib/server/auth/session';
import { isDevelopment } from '$lib/server/config';
import { closeContext, getContext } from '$lib/server/context';
import { attach } from '$lib/server/realtime/attach';

// The production entry (src/bin/start.ts) imports the built handler, then finds these here:
// the bundled attach (same module instances as the routes) and the shutdown of this context.
(globalThis as Record<symbol, unknown>)[Symbol.for('pipewall.app')] = { attach, shutdown: closeContext };

const authenticate: Handle = async ({ event, resolve }) => {
  event.locals.user = null;
  event.locals.session = null;
  const token = event.cookies.get(SESSION_COOKIE);
  if (token) {
    const ctx = getContext();
    const valid = await validateSessionToken(ctx.clickhouse, token, sessionPolicy(ctx.config));
    if (valid) {
      event.locals.user = valid.user;
      event.locals.session = valid.session;
      if (valid.refreshed) setSessionCookie(event.cookies, token, valid.session.expiresAt, !isDevelopment(ctx.config));
    } else {
      deleteSessionCookie(event.cookies);
    }
  }
  return resolve(event);
};

const logRequests: Handle = async ({ event, resolve }) => {
  const started = performance.now();
  const response = await resolve(event);
  getContext().log.debug(
    { method: event.request.method, path: event.url.pathname, status: response.status, ms: Math.round(performance.now() - started) },
    'request'
  );
  return response;
};

export const handle = sequence(authenticate, logRequests);

export const handleError: HandleServerError = ({ error, event, status }) => {
  if (status === 404) return { message: 'Not found' };
  const id = crypto.randomUUID();
  getContext().log.error({ err: error, id, path: event.url.pathname }, 'unexpected error');
  return { message: 'Something went wrong. Quote this id if you report it.', id };
};
