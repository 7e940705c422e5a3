import { test, expect } from '@playwright/test';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const base = () => process.env.KILN_UI_BASE;
const small = () => `${base()}/ui/experiments/${process.env.KILN_UI_SMALL}`;
const big = () => `${base()}/ui/experiments/${process.env.KILN_UI_BIG}`;

// Issue 15's target is first rows < 500 ms (measured 422 ms here under load,
// printed by the test). The assertion keeps a 2x margin, as the brief allows
// for browser budgets, so a busy CI machine does not fail a healthy build;
// a regression to seconds still fails.
const FIRST_ROW_TARGET_MS = 500;
const FIRST_ROW_BUDGET_MS = 2 * FIRST_ROW_TARGET_MS;
const MAX_DOM_ROWS = 80;

async function runNames(page) {
  return page.locator('[data-testid=run-row] [role=cell]:first-child').allTextContents();
}

async function axe(page) {
  await page.addScriptTag({ path: path.join(here, 'node_modules/axe-core/axe.min.js') });
  return page.evaluate(async () => (await window.axe.run(document)).violations.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`));
}

test('experiment list links to each experiment', async ({ page }) => {
  await page.goto(`${base()}/ui/`);
  const table = page.getByTestId('experiments');
  await expect(table.getByRole('link', { name: 'ui-small' })).toBeVisible();
  await expect(table.getByRole('link', { name: 'ui-100k' })).toBeVisible();
  await table.getByRole('link', { name: 'ui-small' }).click();
  await expect(page).toHaveURL(small());
  await expect(page.getByTestId('run-row')).toHaveCount(5);
});

test('runs table shows the newest run first, filters on the server and sorts by a chosen metric', async ({ page }) => {
  await page.goto(small());
  await expect(page.getByTestId('run-row')).toHaveCount(5);
  expect(await runNames(page)).toEqual(['lr-1.0', 'lr-0.3', 'lr-0.1', 'lr-0.01', 'lr-0.001']);

  await page.getByLabel('Filter').fill("params.lr = '0.1'");
  await page.getByLabel('Filter').press('Enter');
  await expect(page.getByTestId('run-row')).toHaveCount(1);
  expect(await runNames(page)).toEqual(['lr-0.1']);

  await page.getByLabel('Filter').fill('metrics.accuracy > 0.75');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByTestId('run-row')).toHaveCount(2);

  await page.getByLabel('Filter').fill('metrics.accuracy >>> 1');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByRole('alert')).toBeVisible();

  await page.getByLabel('Filter').fill('');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByTestId('run-row')).toHaveCount(5);

  // A metric column chosen by the user, sorted ascending then descending.
  await page.getByText('Columns').click();
  await page.getByRole('checkbox', { name: 'accuracy' }).check();
  await page.getByRole('checkbox', { name: 'lr' }).check();
  await page.getByText('Columns').click();
  const header = page.getByRole('columnheader', { name: /accuracy/ });
  await header.getByRole('button').click();
  await expect(header).toHaveAttribute('aria-sort', 'ascending');
  await expect.poll(() => runNames(page)).toEqual(['lr-0.001', 'lr-0.01', 'lr-0.1', 'lr-0.3', 'lr-1.0']);
  await header.getByRole('button').click();
  await expect(header).toHaveAttribute('aria-sort', 'descending');
  await expect.poll(() => runNames(page)).toEqual(['lr-1.0', 'lr-0.3', 'lr-0.1', 'lr-0.01', 'lr-0.001']);
  const row = page.getByTestId('run-row').first();
  await expect(row.getByRole('cell').nth(3)).toHaveText('0.9');
  await expect(row.getByRole('cell').nth(4)).toHaveText('1.0');
});

test('100,000 runs: first rows within budget, bounded DOM, pages fetched while scrolling', async ({ page }) => {
  // Records when the first run row enters the DOM, from navigation start.
  await page.addInitScript(() => {
    new MutationObserver((_, obs) => {
      if (document.querySelector('[data-testid=run-row]')) {
        window.__firstRowMs = performance.now();
        obs.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  await page.goto(big());
  await expect(page.getByTestId('run-row').first()).toBeVisible();
  const firstRowMs = await page.evaluate(() => window.__firstRowMs);
  console.log(`100k runs: first row after ${firstRowMs.toFixed(0)} ms (target ${FIRST_ROW_TARGET_MS} ms)`);
  expect(firstRowMs).toBeLessThan(FIRST_ROW_BUDGET_MS);
  expect(await runNames(page).then((n) => n[0])).toBe(`run-${String(Number(process.env.KILN_UI_BIG_RUNS) - 1).padStart(6, '0')}`);
  expect(await page.locator('[role=row]').count()).toBeLessThan(MAX_DOM_ROWS);

  const grid = page.getByTestId('runs-table');
  for (let i = 0; i < 4; i++) {
    await grid.evaluate((el) => (el.scrollTop = el.scrollHeight));
    await page.waitForTimeout(50);
  }
  await expect(page.getByTestId('run-count')).toContainText(/^\d{4,} runs loaded/);
  expect(await page.locator('[role=row]').count()).toBeLessThan(MAX_DOM_ROWS);
  // Keyboard: the table is a focusable scroll region.
  await grid.focus();
  await page.keyboard.press('Home');
  await expect.poll(() => grid.evaluate((el) => el.scrollTop)).toBe(0);
});

test('no axe-core violations on the experiment list and the runs table', async ({ page }) => {
  await page.goto(`${base()}/ui/`);
  await expect(page.getByTestId('experiments')).toBeVisible();
  expect(await axe(page)).toEqual([]);
  await page.goto(small());
  await expect(page.getByTestId('run-row')).toHaveCount(5);
  expect(await axe(page)).toEqual([]);
});

test('runs table looks like the committed baseline', async ({ page }) => {
  await page.goto(small());
  await expect(page.getByTestId('run-row')).toHaveCount(5);
  await expect(page).toHaveScreenshot('runs-small.png');
});

test('kiln serves the UI pre-compressed with long-lived hashed assets', async ({ request }) => {
  const index = await request.get(`${base()}/ui/experiments/1`, { headers: { 'Accept-Encoding': 'gzip' } });
  expect(index.status()).toBe(200);
  expect(index.headers()['cache-control']).toBe('no-cache');
  const html = await index.text();
  const js = html.match(/\/ui\/assets\/[^"]+\.js/)[0];
  const asset = await request.get(`${base()}${js}`, { headers: { 'Accept-Encoding': 'gzip' } });
  expect(asset.headers()['content-encoding']).toBe('gzip');
  expect(asset.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
  const again = await request.get(`${base()}${js}`, {
    headers: { 'Accept-Encoding': 'gzip', 'If-None-Match': asset.headers()['etag'] },
  });
  expect(again.status()).toBe(304);
});

test('first page JavaScript stays under 150 KB gzip', async ({ page }) => {
  const { gzipSync } = await import('node:zlib');
  const bodies = [];
  page.on('response', async (res) => {
    if (res.request().resourceType() === 'script') bodies.push(res.body());
  });
  await page.goto(`${base()}/ui/`);
  await expect(page.getByTestId('experiments')).toBeVisible();
  const sizes = await Promise.all(bodies.map(async (b) => gzipSync(await b, { level: 9 }).length));
  const total = sizes.reduce((a, b) => a + b, 0);
  console.log(`first page JavaScript: ${sizes.length} files, ${(total / 1024).toFixed(1)} KB gzip`);
  expect(sizes.length).toBeGreaterThan(0);
  expect(total).toBeLessThan(150 * 1024);
});
