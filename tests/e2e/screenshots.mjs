// End to end in a real browser: sign in as the demo's engineer through the form, watch a meter
// page receive live values over SSE, and take screenshots of the overview, a unit and a meter.
// Usage: node screenshots.mjs BASE_URL OUT_DIR   (chromium at /usr/bin/chromium)
import { chromium } from 'playwright-core';

const [base, out] = process.argv.slice(2);
const fail = (msg) => { console.error(msg); process.exit(1); };
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });

// The overview is open in the demo: today against yesterday, quotas, top consumers, meters.
await page.goto(`${base}/`);
const rows = await page.locator('tr[id^="m-"]').count();
if (rows < 30) fail(`overview lists ${rows} meters`);
for (const id of ['#today', '#quotas', '#ranking svg']) {
  if (await page.locator(id).count() < 1) fail(`overview has no ${id}`);
}
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

// The engineer types in this month's gas reading (the meter is read by hand) on the admin page.
// Prompts take their default, except the committee's points and reason (below).
const answers = { '0–100': '92', '评分依据': 'e2e 节能宣传到位' };
page.on('dialog', (d) => {
  const key = Object.keys(answers).find((k) => d.message().includes(k));
  d.accept(d.type() === 'prompt' ? (key ? answers[key] : d.defaultValue()) : undefined);
});
const gas = await (await page.request.get(`${base}/api/v1/meters/canteen1-gas`)).json();
const last = gas.values.gas_m3;
if (typeof last !== 'number') fail(`no gas reading to continue from: ${JSON.stringify(gas)}`);
await page.goto(`${base}/admin`);
await page.selectOption('#r-meter', 'canteen1-gas');
await page.fill('#manual input[name=value]', String(Math.round(last + 12)));
await page.fill('#manual input[name=note]', 'e2e 月度抄表');
await page.click('#manual button[type=submit]');
await page.waitForSelector('#r-out.ok', { timeout: 10000 }).catch(async () =>
  fail(`manual reading not saved: ${await page.locator('#r-out').textContent()}`));
if (await page.locator('#users').count() !== 0) fail('an engineer sees the users section');
await page.reload();
if (!(await page.locator('#audit').textContent()).includes('canteen1-gas')) fail('the reading is not in the audit log');
await page.screenshot({ path: `${out}/admin-engineer.png`, fullPage: true });

// Finance issues last month's statement for the shop and records its payment.
await page.context().clearCookies();
await page.goto(`${base}/login?next=/billing`);
await page.fill('#name', 'finance');
await page.fill('#password', 'jieneng-demo');
await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
const statementRow = () => page.locator('#statements > tbody > tr', { hasText: '校园超市' });
const shop = statementRow();
if (await shop.count() !== 1) fail('no shop statement on the billing page');
if (await shop.locator('button', { hasText: '开具' }).count() === 1) {
  await Promise.all([page.waitForNavigation(), shop.locator('button', { hasText: '开具' }).click()]);
}
await Promise.all([page.waitForNavigation(), statementRow().locator('button', { hasText: '登记缴费' }).click()]);
const after = await statementRow().textContent();
if (!after.includes('已缴清')) fail(`shop statement after payment: ${after}`);
// The shop still owes half of the month before: arrears beside this month's statement.
if (!/\d/.test(await statementRow().locator('td').nth(4).textContent())) fail(`no arrears on the shop: ${after}`);
// The canteen is held for review (its gas reading of the first of the month was missed):
// the queue says why; finance accepts it with a reason, then issues it.
const held = page.locator('#review tr', { hasText: '第一食堂' });
if (!(await held.textContent()).includes('插值')) fail(`canteen not held for the gas reading: ${await held.textContent()}`);
answers['复核意见'] = 'e2e 燃气表漏抄一月，按两月均摊，已与食堂确认';
await Promise.all([page.waitForNavigation(), held.locator('button', { hasText: '复核接受' }).click()]);
const canteenRow = () => page.locator('#statements > tbody > tr', { hasText: '第一食堂' });
if (!(await canteenRow().textContent()).includes('已复核')) fail(`canteen not accepted: ${await canteenRow().textContent()}`);
await Promise.all([page.waitForNavigation(), canteenRow().locator('button', { hasText: '开具' }).click()]);
if (!(await canteenRow().textContent()).includes('已开具')) fail(`canteen not issued: ${await canteenRow().textContent()}`);
// Each statement's lines open under it; the totals row and the year's recovery are there.
await canteenRow().locator('xpath=following-sibling::tr[1]').locator('summary').click();
if (await page.locator('#statements tr.total').count() !== 1) fail('no totals row');
if (!(await page.locator('#year').textContent()).includes('本年已回收')) fail('no year view');
await page.screenshot({ path: `${out}/billing.png`, fullPage: true });

// The admin sees users and tokens.
await page.context().clearCookies();
await page.goto(`${base}/login?next=/admin`);
await page.fill('#name', 'admin');
await page.fill('#password', 'jieneng-demo');
await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
const users = await page.locator('#users tr').count();
if (users < 5) fail(`admin page lists ${users - 1} users`);
await page.screenshot({ path: `${out}/admin.png`, fullPage: true });

// The committee enters its points for the library; the rating shows them with the reason.
await page.context().clearCookies();
await page.goto(`${base}/login?next=/ratings`);
await page.fill('#name', 'committee');
await page.fill('#password', 'jieneng-demo');
await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
const library = () => page.locator('tr', { hasText: '图书馆' }).first();
await Promise.all([page.waitForNavigation(), library().locator('button', { hasText: '委员会评分' }).click()]);
if (!(await library().textContent()).includes('e2e 节能宣传到位')) fail('committee points not shown on the ratings page');
await page.screenshot({ path: `${out}/ratings.png`, fullPage: true });

// The English switch keeps the page's other parameters, such as an earlier month.
const earlier = new Date();
earlier.setUTCDate(1);
earlier.setUTCMonth(earlier.getUTCMonth() - 2);
const month = earlier.toISOString().slice(0, 7);
await page.goto(`${base}/ratings?month=${month}`);
await Promise.all([page.waitForNavigation(), page.locator('header a', { hasText: 'English' }).click()]);
const switched = new URL(page.url()).searchParams;
if (switched.get('month') !== month || switched.get('lang') !== 'en') fail(`English switch went to ${page.url()}`);
if (!(await page.locator('nav').textContent()).includes('Quotas & ratings')) fail('the English page is not in English');
if (!(await page.locator('main').textContent()).includes('meter-days complete')) fail('the ratings\' reasons are not in English');
await page.screenshot({ path: `${out}/ratings-en.png`, fullPage: true });
await browser.close();
console.log(`screenshots in ${out}: overview (${rows} meters), meter, unit (${charts} charts), admin, billing, ratings (zh, en)`);
