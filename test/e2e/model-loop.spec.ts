import { expect, test } from '@playwright/test';
import { createEventSource, replayHistory } from '../../ingest/simulator';
import type { AgentEvent } from '../../src/lib/contracts/events';
import { createClickHouse } from '../../src/lib/server/db/clickhouse';
import { humanEventRow, insertEventRows, toEventRow } from '../../src/lib/server/db/queries/events';
import { E2E_DATABASE } from '../helpers/e2e-env';
import { seedOrganisation, seedUser } from '../helpers/seed';

// The server under test migrated this database at start; seed straight into it.
const clickhouse = createClickHouse({ url: process.env.CLICKHOUSE_URL ?? '', database: E2E_DATABASE });
test.afterAll(() => clickhouse.close());

const DAY = 86_400_000;

test('RevOps retrains the model and sees progress and the new version without a reload; a rep sees a lead score with its reasons', async ({
  browser,
  baseURL
}) => {
  test.setTimeout(240_000);
  const org = await seedOrganisation(clickhouse, 'Model Loop Org', 'revops');
  const rep = await seedUser(clickhouse, org.orgId, 'rep');
  // Ninety days of the demo agents' history (outcomes enough for an own model), up to now.
  let clock = Date.now() - 90 * DAY;
  const source = createEventSource({ seed: 41, runId: `e2e-${org.orgId}`, leads: 150, now: () => clock });
  const open = new Set<string>();
  await replayHistory(
    {
      async send(batch) {
        const list = (Array.isArray(batch) ? batch : [batch]) as AgentEvent[];
        for (const e of list) {
          if (e.type === 'deal_won' || e.type === 'deal_lost') open.delete(e.leadId);
          else if (e.type === 'conversation_started') open.add(e.leadId);
        }
        await insertEventRows(clickhouse, list.map((e) => toEventRow(e, org.orgId, Date.parse(e.occurredAt))));
        return { accepted: list.map((e) => e.eventId), rejected: [] };
      }
    },
    source,
    { fromMs: clock, toMs: Date.now() - 60_000, events: 25_000, batchSize: 5_000, setClock: (ms) => (clock = ms) }
  );

  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  await context.addCookies([{ name: 'pw_session', value: org.sessionToken, url: baseURL ?? '' }]);
  const page = await context.newPage();
  await page.goto('/models');
  await expect(page.getByText('No model trained yet')).toBeVisible();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-status', 'live');

  await page.getByRole('button', { name: 'Retrain now' }).click();
  // Progress arrives over the socket: a training phase with an epoch, then the promotion.
  await expect(page.getByTestId('training')).toContainText(/epoch/i, { timeout: 120_000 });
  await expect(page.getByTestId('training')).toContainText('promoted', { timeout: 180_000 });
  await expect(page.getByTestId('scored-by')).toContainText('v1');
  await expect(page.getByTestId('model-roc')).toContainText('AUC');
  const aucText = (await page.getByTestId('model-roc').textContent()) ?? '';
  const auc = Number(/AUC\s*([01]\.\d+)/.exec(aucText)?.[1]);
  console.log(`model page: v1 promoted, holdout AUC ${auc}`);
  expect(auc).toBeGreaterThan(0.7);
  // For a person to look at (the wall and model pages are checked by eye after UI work).
  await page.screenshot({ path: 'test-results/model-page.png' });
  await context.close();

  // Every open lead was scored after the promotion; give one to the rep.
  const leadId = [...open][0]!;
  await insertEventRows(clickhouse, [
    humanEventRow({ orgId: org.orgId, eventId: `assign-${leadId}`, leadId, type: 'lead_assigned', userId: org.user.userId, summary: 'Assigned', properties: { ownerId: rep.userId }, at: Date.now() })
  ]);
  const repContext = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await repContext.addCookies([{ name: 'pw_session', value: rep.sessionToken, url: baseURL ?? '' }]);
  const repPage = await repContext.newPage();
  await expect(async () => {
    await repPage.goto(`/leads/${leadId}`);
    await expect(repPage.getByTestId('lead-score')).toContainText('chance to win', { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await expect(repPage.getByTestId('score-reasons').locator('li').first()).toHaveText(/\w+ \w+/);
  await expect(repPage.getByTestId('lead-score')).toContainText('your model v1');
  await repPage.screenshot({ path: 'test-results/lead-score.png' });
  await repContext.close();
});
