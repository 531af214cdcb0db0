/** The session cookie: HttpOnly, SameSite=Lax, Path=/, Secure outside development. */
export const SESSION_COOKIE = 'pw_session';

export interface CookieJar {
  set(name: string, value: string, opts: { path: string; httpOnly: boolean; sameSite: 'lax'; secure: boolean; expires: Date }): void;
  delete(name: string, opts: { path: string }): void;
}

export function setSessionCookie(cookies: CookieJar, token: string, expiresAt: number, secure: boolean): void {
  cookies.set(SESSION_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'lax', secure, expires: new Date(expiresAt) });
}

export function deleteSessionCookie(cookies: CookieJar): void {
  cookies.delete(SESSION_COOKIE, { path: '/' });
}

/** The session token from a raw Cookie header (the socket.io handshake has no cookie jar). */
export function sessionTokenFromHeader(header: string | undefined): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null; // a malformed escape is not a session
      }
    }
  }
  return null;
}
