import { expect, type Browser, type Page } from '@playwright/test';
import type { SeededUser } from './seed';

/** Sign in through the login form, as a person would. */
export async function signIn(page: Page, who: Pick<SeededUser, 'email' | 'password'>): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The wall at 1920×1080 in a browser context of its own, signed in with a session cookie, once it is live. */
export async function wallAs(browser: Browser, baseURL: string, sessionToken: string): Promise<Page> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1920, height: 1080 } });
  await context.addCookies([{ name: 'pw_session', value: sessionToken, url: baseURL }]);
  const page = await context.newPage();
  await page.goto('/');
  await expect(page.getByTestId('connection')).toHaveAttribute('data-status', 'live');
  return page;
}
