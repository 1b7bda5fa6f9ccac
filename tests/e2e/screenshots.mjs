// End to end in a real browser: sign in as the demo's engineer through the form, watch a meter
// page receive live values over SSE, and take screenshots of the overview, a unit and a meter.
// Usage: node screenshots.mjs BASE_URL OUT_DIR   (chromium at /usr/bin/chromium)
import { chromium } from 'playwright-core';

const [base, out] = process.argv.slice(2);
const fail = (msg) => { console.error(msg); process.exit(1); };
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });

// The overview is open in the demo; its table lists the meters.
await page.goto(`${base}/`);
const rows = await page.locator('tr[id^="m-"]').count();
if (rows < 30) fail(`overview lists ${rows} meters`);
await page.screenshot({ path: `${out}/overview.png`, fullPage: true });

// A meter page without signing in asks for it.
const anon = await page.goto(`${base}/meters/library-main`);
if (anon.status() !== 401) fail(`meter page without a session: ${anon.status()}`);

await page.fill('#name', 'engineer');
await page.fill('#password', 'jieneng-demo');
await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
if (!page.url().endsWith('/meters/library-main')) fail(`after sign-in: ${page.url()}`);
// A live value arrives over SSE within a few seconds (the demo updates every 10 s).
await page.waitForSelector('tr.fresh', { timeout: 30000 }).catch(() => fail('no live value over SSE in 30 s'));
const svg = await page.locator('section.panel svg').count();
if (svg < 1) fail('the meter page has no chart');
await page.screenshot({ path: `${out}/meter.png`, fullPage: true });

await page.goto(`${base}/units/library`);
const charts = await page.locator('section.panel svg').count();
if (charts < 4) fail(`the unit page has ${charts} charts`);
await page.screenshot({ path: `${out}/unit.png`, fullPage: true });

// Billing is for finance: the engineer is refused.
const billing = await page.goto(`${base}/billing`);
if (billing.status() !== 403) fail(`billing page for an engineer: ${billing.status()}`);
await browser.close();
console.log(`screenshots in ${out}: overview (${rows} meters), meter, unit (${charts} charts)`);
