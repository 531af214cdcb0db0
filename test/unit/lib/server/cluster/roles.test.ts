import { describe, expect, it } from 'vitest';
import { describeRoles, parseRoles } from '../../../../../src/lib/server/cluster/roles';
import { parseConfig } from '../../../../../src/lib/server/config';

describe('process roles', () => {
  it('reads "all" as every role and a list as those roles, in any case and spacing', () => {
    expect([...(parseRoles('all') ?? [])]).toEqual(['app', 'ingest', 'trainer']);
    expect(describeRoles(parseRoles(' Ingest , app ') ?? new Set())).toBe('app,ingest');
    expect(describeRoles(parseRoles('trainer') ?? new Set())).toBe('trainer');
  });

  it('refuses words that are not roles, and an empty list', () => {
    expect([parseRoles('app,web'), parseRoles(''), parseRoles(' , '), parseRoles('all,app')]).toEqual([null, null, null, null]);
  });

  it('config defaults to all roles and names a bad PIPEWALL_ROLES in its error', () => {
    expect(describeRoles(parseConfig({ CLICKHOUSE_URL: 'http://127.0.0.1:8123' }).PIPEWALL_ROLES)).toBe('app,ingest,trainer');
    expect(() => parseConfig({ CLICKHOUSE_URL: 'http://127.0.0.1:8123', PIPEWALL_ROLES: 'app,scorer' })).toThrow(/PIPEWALL_ROLES: "app,scorer" is not/);
  });
});
