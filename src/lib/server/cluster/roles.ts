/**
 * What a process does (issue 8). `app` serves pages, the JSON API and sockets; `ingest` takes
 * agents' events (POST /api/v1/events) into ClickHouse through its own spool; `trainer` scores
 * leads as their events commit, trains and promotes models and resumes undelivered follow-ups —
 * several processes may have the role, one holds it at a time (a lease, see coordinator.ts).
 * `all`, the default, is all three in one process: `npm start` and every single-machine setup.
 */
export const processRoles = ['app', 'ingest', 'trainer'] as const;
export type ProcessRole = (typeof processRoles)[number];
export type ProcessRoles = ReadonlySet<ProcessRole>;

/** "all", or a comma-separated list such as "app,ingest"; null when a word is not a role. */
export function parseRoles(text: string): ProcessRoles | null {
  const words = text
    .split(',')
    .map((w) => w.trim().toLowerCase())
    .filter(Boolean);
  if (words.length === 0) return null;
  if (words.length === 1 && words[0] === 'all') return new Set(processRoles);
  const roles = new Set<ProcessRole>();
  for (const w of words) {
    if (!(processRoles as readonly string[]).includes(w)) return null;
    roles.add(w as ProcessRole);
  }
  return roles;
}

/** For logs and the health endpoint: "app,ingest,trainer" in a fixed order. */
export const describeRoles = (roles: ProcessRoles): string => processRoles.filter((r) => roles.has(r)).join(',');
