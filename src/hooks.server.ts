import type { Handle, HandleServerError } from '@sveltejs/kit';
import { sequence } from '@sveltejs/kit/hooks';
import { deleteSessionCookie, SESSION_COOKIE, setSessionCookie } from '$lib/server/auth/cookies';
import { sessionPolicy, validateSessionToken } from '$lib/server/auth/session';
import { hasRole, isDevelopment } from '$lib/server/config';
import { closeContext, getContext } from '$lib/server/context';
import { handleIngest, INGEST_PATH, type IngestRequest } from '$lib/server/ingest-endpoint';
import { attach } from '$lib/server/realtime/attach';

// The production entry (src/bin/start.ts) imports the built handler, then finds these here:
// the bundled attach (same module instances as the routes), the shutdown of this context, and
// ingest: the route's handleIngest, which the entry serves POST /api/v1/events with ahead of
// SvelteKit's pipeline (the endpoint takes API keys, so it needs none of the hooks below).
(globalThis as Record<symbol, unknown>)[Symbol.for('pipewall.app')] = {
  attach,
  shutdown: closeContext,
  ingest: (request: IngestRequest) =>
    handleIngest(getContext(), request).catch((error: unknown) => Response.json(unexpected(error, INGEST_PATH), { status: 500 }))
};

/** A process without the app role (PIPEWALL_ROLES) serves only ingest and its health check. */
const requireAppRole: Handle = ({ event, resolve }) => {
  if (event.url.pathname === '/healthz' || hasRole(getContext().config, 'app')) return resolve(event);
  return new Response('This Pipewall process does not serve the app (PIPEWALL_ROLES); the load balancer should not send pages here.\n', {
    status: 503,
    headers: { 'content-type': 'text/plain; charset=utf-8' }
  });
};

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

export const handle = sequence(requireAppRole, authenticate, logRequests);

export const handleError: HandleServerError = ({ error, event, status }) => {
  if (status === 404) return { message: 'Not found' };
  return unexpected(error, event.url.pathname);
};

function unexpected(error: unknown, path: string): App.Error {
  const id = crypto.randomUUID();
  getContext().log.error({ err: error, id, path }, 'unexpected error');
  return { message: 'Something went wrong. Quote this id if you report it.', id };
}
