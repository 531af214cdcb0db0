import { error } from '@sveltejs/kit';

/**
 * The body of a JSON endpoint that a signed-in person calls from the app. JSON only (415
 * otherwise): a cross-site page can post a form with the person's cookie, but cannot send
 * application/json without a CORS preflight this server never grants. Invalid JSON is 400.
 */
export async function readJsonBody(request: Request): Promise<unknown> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') error(415, 'Send Content-Type: application/json.');
  try {
    return await request.json();
  } catch {
    error(400, 'The body is not valid JSON.');
  }
}

/** A zod error as one line for a 400: `path: message; …` (`whole` names an issue with no path). */
export function describeIssues(issues: readonly { path: PropertyKey[]; message: string }[], whole = 'body'): string {
  return issues.map((i) => `${i.path.join('.') || whole}: ${i.message}`).join('; ');
}
