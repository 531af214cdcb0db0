import { chromium } from '@playwright/test';
const [,, email, password, out, ...paths] = process.argv;
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless','--no-sandbox','--disable-gpu','--disable-quic','--no-first-run','--disable-background-networking','--disable-component-update','--disable-sync'] });
const p = await b.newPage({ viewport: { width: 1440, height: 900 } });
await p.goto('http://127.0.0.1:3111/login');
await p.fill('input[name=email]', email);
await p.fill('input[name=password]', password);
await p.click('button[type=submit]');
await p.waitForLoadState('networkidle');
let i = 0;
for (const path of paths) {
  if (path === 'first-lead') { await p.click('[data-testid=lead-row] a'); } else { await p.goto('http://127.0.0.1:3111' + path); }
  await p.waitForTimeout(1500);
  await p.screenshot({ path: `${out}-${i++}.png` });
}
await b.close();
