import { expect, test } from '@playwright/test';
import type { Role } from '../../src/lib/contracts/auth';
import { createClickHouse } from '../../src/lib/server/db/clickhouse';
import { humanEventRow, insertEventRows } from '../../src/lib/server/db/queries/events';
import { buildStageChanged } from '../fixtures/events';
import { E2E_DATABASE } from '../helpers/e2e-env';
import { seedOrganisation, seedUser, type SeededOrg, type SeededUser } from '../helpers/seed';
import { signIn } from '../helpers/browser';

const clickhouse = createClickHouse({ url: process.env.CLICKHOUSE_URL ?? '', database: E2E_DATABASE });
test.afterAll(() => clickhouse.close());

/** What each role lands on, the navigation it is shown, and a page it must be refused. */
const journeys: Record<Role, { home: RegExp; nav: string[]; refused: string }> = {
  manager: { home: /\/$/, nav: ['Inbox', 'Leads', 'Model', 'Account'], refused: '/admin/users' },
  revops: { home: /\/$/, nav: ['Model', 'Settings', 'Account'], refused: '/leads' },
  rep: { home: /\/inbox$/, nav: ['Inbox', 'Leads', 'Account'], refused: '/admin/api-keys' },
  admin: { home: /\/admin\/users$/, nav: ['Users', 'API keys', 'Account'], refused: '/leads' }
};

let org: SeededOrg;
const people = {} as Record<Role, SeededUser>;
const repLead = `lead-rep-${Date.now()}`;

test.beforeAll(async ({ request }) => {
  org = await seedOrganisation(clickhouse, `Roles Org ${Date.now()}`, 'manager');
  people.manager = org.user;
  for (const role of ['revops', 'rep', 'admin'] as const) people[role] = await seedUser(clickhouse, org.orgId, role);
  const res = await request.post('/api/v1/events', {
    headers: { authorization: `Bearer ${org.apiKey}` },
    data: [buildStageChanged({ leadId: repLead, stage: 'qualified', summary: 'Wants a consultation' })]
  });
  expect(res.status()).toBe(200);
  await insertEventRows(clickhouse, [
    humanEventRow({
      orgId: org.orgId,
      eventId: `assign-${repLead}`,
      leadId: repLead,
      type: 'lead_assigned',
      userId: org.user.userId,
      summary: 'assigned',
      properties: { ownerId: people.rep.userId },
      at: Date.now()
    })
  ]);
});

for (const role of Object.keys(journeys) as Role[]) {
  test(`${role}: lands on their page, sees only their navigation, is refused elsewhere, and logs out for good`, async ({ page }) => {
    const journey = journeys[role];
    await signIn(page, people[role]);
    // Headroom for a busy 2-core machine (the failures once blamed on slowness were the login
    // page's hydration resetting the email: see live-page.spec.ts).
    await expect(page).toHaveURL(journey.home, { timeout: 15_000 });
    const nav = page.getByRole('navigation', { name: 'Main' });
    // The wall (manager, revops) keeps its header small for the room: no link to itself.
    await expect(nav.getByRole('link')).toHaveText(journey.nav);

    const refused = await page.goto(journey.refused);
    expect(refused?.status()).toBe(403);

    await page.goto(role === 'admin' ? '/admin/users' : role === 'rep' ? '/leads' : '/');
    // A rep's lead list holds their own leads only.
    if (role === 'rep') await expect(page.getByTestId('lead-row')).toHaveText([new RegExp(repLead)]);
    const sensitive = role === 'admin' ? people.rep.email : role === 'rep' ? repLead : org.name;
    await expect(page.getByText(sensitive).first()).toBeVisible();
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login$/);
    // The back button: pages are no-store, so the browser asks again and is sent to the login page.
    await page.goBack();
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByText(sensitive)).toHaveCount(0);
  });
}
