import { expect, test } from '@playwright/test';
import { createClickHouse } from '../../src/lib/server/db/clickhouse';
import { E2E_DATABASE } from '../helpers/e2e-env';
import { buildStageChanged } from '../fixtures/events';
import { seedOrganisation } from '../helpers/seed';

// The server under test migrated this database at start; seed straight into it.
const clickhouse = createClickHouse({ url: process.env.CLICKHOUSE_URL ?? '', database: E2E_DATABASE });
test.afterAll(() => clickhouse.close());

test('an event posted to the ingest API appears on the live page within 2 s', async ({ page, context, request, baseURL }) => {
  const org = await seedOrganisation(clickhouse, 'Live Page Org');
  await context.addCookies([{ name: 'pw_session', value: org.sessionToken, url: baseURL ?? '' }]);
  await page.goto('/');
  await expect(page.getByText('Live Page Org')).toBeVisible();
  await expect(page.getByTestId('count-qualified')).toHaveText('0');
  await expect(page.getByTestId('connection')).toHaveAttribute('data-status', 'live'); // socket connected

  const summary = `Qualified via e2e ${Date.now()}`;
  const posted = Date.now();
  const res = await request.post('/api/v1/events', {
    headers: { authorization: `Bearer ${org.apiKey}` },
    data: [buildStageChanged({ leadId: 'lead-e2e', stage: 'qualified', summary })]
  });
  expect(res.status()).toBe(200);
  expect(await res.json()).toEqual({ accepted: 1, rejected: [] });

  await expect(page.getByTestId('ticker')).toContainText(summary, { timeout: 2_000 });
  console.log(`event → ticker in ${Date.now() - posted} ms`);
  await expect(page.getByTestId('count-qualified')).toHaveText('1', { timeout: 2_000 });
});

test("another organisation's events never reach the page", async ({ page, context, request, baseURL }) => {
  const mine = await seedOrganisation(clickhouse, 'Org A');
  const theirs = await seedOrganisation(clickhouse, 'Org B');
  await context.addCookies([{ name: 'pw_session', value: mine.sessionToken, url: baseURL ?? '' }]);
  await page.goto('/');
  await expect(page.getByTestId('connection')).toHaveAttribute('data-status', 'live');

  const secret = `Org B secret ${Date.now()}`;
  const own = `Org A event ${Date.now()}`;
  for (const [key, summary] of [[theirs.apiKey, secret], [mine.apiKey, own]] as const) {
    const res = await request.post('/api/v1/events', {
      headers: { authorization: `Bearer ${key}` },
      data: [buildStageChanged({ summary })]
    });
    expect(res.status()).toBe(200);
  }
  // Our own later event arrives, so anything of B's would have arrived before it.
  await expect(page.getByTestId('ticker')).toContainText(own, { timeout: 2_000 });
  await expect(page.getByTestId('ticker')).not.toContainText(secret);
});

test('signing in with the form shows the wall; signing out returns to the login page', async ({ page }) => {
  const org = await seedOrganisation(clickhouse, 'Login Org');
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel('Email').fill(org.user.email);
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Email or password is wrong.');
  await page.getByLabel('Password').fill(org.user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByText('Login Org')).toBeVisible();
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
});

test('an email typed before the page finished loading is still there after it loads', async ({ page }) => {
  // Slow scripts, as on a busy machine or a slow phone: the person types into the server-rendered
  // form before the app takes it over. Hydration used to reset the email (its value came from the
  // last attempt), so the browser's `required` check then silently refused to submit.
  await page.route('**/_app/immutable/**', async (route) => {
    await new Promise((r) => setTimeout(r, 1_500));
    await route.continue();
  });
  await page.goto('/login', { waitUntil: 'commit' });
  await page.getByLabel('Email').fill('typed-early@example.test');
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(500);
  await expect(page.getByLabel('Email')).toHaveValue('typed-early@example.test');
});
