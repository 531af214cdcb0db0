import { defaultExceptionSettings, exceptionSettingsSchema, type ExceptionSettings } from '../../../contracts/exceptions';
import { insertRows, queryRows, type ClickHouseClient } from '../clickhouse';
import { sql } from '../sql';

/**
 * The organisation's exception thresholds (issue 5: "N per organisation"), the defaults when it
 * never saved any. A stored document that no longer parses (a field renamed later) falls back
 * field by field to the defaults rather than failing the wall.
 */
export async function loadExceptionSettings(client: ClickHouseClient, orgId: string): Promise<ExceptionSettings> {
  const rows = await queryRows<{ settings: string }>(
    client,
    sql`SELECT argMax(settings, version) AS settings FROM org_settings WHERE org_id = ${orgId} AND kind = 'exceptions' GROUP BY org_id`
  );
  if (!rows[0]) return defaultExceptionSettings;
  let stored: unknown;
  try {
    stored = JSON.parse(rows[0].settings);
  } catch {
    return defaultExceptionSettings;
  }
  const parsed = exceptionSettingsSchema.safeParse(stored);
  if (parsed.success) return parsed.data;
  const kept = Object.fromEntries(
    Object.entries(typeof stored === 'object' && stored !== null ? stored : {}).filter(
      ([key, value]) => exceptionSettingsSchema.shape[key as keyof ExceptionSettings]?.safeParse(value).success
    )
  );
  return { ...defaultExceptionSettings, ...kept };
}

export async function saveExceptionSettings(
  client: ClickHouseClient,
  orgId: string,
  userId: string,
  settings: ExceptionSettings,
  now: number
): Promise<void> {
  await insertRows(client, 'org_settings', ['org_id', 'kind', 'settings', 'updated_by', 'version'], [{ org_id: orgId, kind: 'exceptions', settings: JSON.stringify(settings), updated_by: userId, version: now }]);
}
