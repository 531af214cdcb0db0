import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultExceptionSettings } from '../../../src/lib/contracts/exceptions';
import { insertRows } from '../../../src/lib/server/db/clickhouse';
import { loadExceptionSettings, saveExceptionSettings } from '../../../src/lib/server/db/queries/org-settings';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('org_settings_test');
});
afterAll(async () => {
  await db?.drop();
});

describe('exception settings per organisation', () => {
  it('are the defaults until saved, then the newest saved version, for that organisation only', async () => {
    expect(await loadExceptionSettings(db.client, 'org-s')).toEqual(defaultExceptionSettings);
    await saveExceptionSettings(db.client, 'org-s', 'user-1', { ...defaultExceptionSettings, silentAfterHours: 6 }, 1_000);
    await saveExceptionSettings(db.client, 'org-s', 'user-2', { ...defaultExceptionSettings, silentAfterHours: 12, currency: 'GBP' }, 2_000);
    // An older version arriving late does not win.
    await saveExceptionSettings(db.client, 'org-s', 'user-3', { ...defaultExceptionSettings, silentAfterHours: 1 }, 1_500);
    expect(await loadExceptionSettings(db.client, 'org-s')).toEqual({ ...defaultExceptionSettings, silentAfterHours: 12, currency: 'GBP' });
    expect(await loadExceptionSettings(db.client, 'org-t')).toEqual(defaultExceptionSettings);
  });

  it('keep the fields of a stored document that still parse and default the rest', async () => {
    await insertRows(db.client, 'org_settings', ['org_id', 'kind', 'settings', 'updated_by', 'version'], [
      { org_id: 'org-u', kind: 'exceptions', settings: JSON.stringify({ silentAfterHours: 3, outcomeAfterDays: -4, currency: 'euro' }), updated_by: 'x', version: 1 }
    ]);
    expect(await loadExceptionSettings(db.client, 'org-u')).toEqual({ ...defaultExceptionSettings, silentAfterHours: 3 });
    await insertRows(db.client, 'org_settings', ['org_id', 'kind', 'settings', 'updated_by', 'version'], [
      { org_id: 'org-v', kind: 'exceptions', settings: '{not json', updated_by: 'x', version: 1 }
    ]);
    expect(await loadExceptionSettings(db.client, 'org-v')).toEqual(defaultExceptionSettings);
  });
});
