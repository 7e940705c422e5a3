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
  return page.locator('[data-testid=run-row] [data-col=run]').allTextContents();
}

async function pickColumns(page, names) {
  await page.getByText('Columns', { exact: true }).click();
  for (const name of names) await page.getByRole('checkbox', { name, exact: true }).check();
  await page.getByText('Columns', { exact: true }).click();
}

function cell(row, col) {
  return row.locator(`[data-col="${col}"]`);
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
  await pickColumns(page, ['accuracy', 'lr']);
  const header = page.getByRole('columnheader', { name: /accuracy/ });
  await header.getByRole('button').click();
  await expect(header).toHaveAttribute('aria-sort', 'ascending');
  await expect.poll(() => runNames(page)).toEqual(['lr-0.001', 'lr-0.01', 'lr-0.1', 'lr-0.3', 'lr-1.0']);
  await header.getByRole('button').click();
  await expect(header).toHaveAttribute('aria-sort', 'descending');
  await expect.poll(() => runNames(page)).toEqual(['lr-1.0', 'lr-0.3', 'lr-0.1', 'lr-0.01', 'lr-0.001']);
  const row = page.getByTestId('run-row').first();
  await expect(cell(row, 'metrics:accuracy')).toHaveText('0.9');
  await expect(cell(row, 'params:lr')).toHaveText('1.0');
  // Each row links to its run page.
  await expect(cell(row, 'run').getByRole('link', { name: 'lr-1.0' })).toHaveAttribute('href', /^\/ui\/runs\/[0-9a-f]{32}$/);
});

test('columns come from the whole experiment: tags, and last/min/max of a metric chosen per column', async ({ page }) => {
  await page.goto(small());
  await expect(page.getByTestId('run-row')).toHaveCount(5);
  await page.getByText('Columns', { exact: true }).click();
  // run-columns lists every key of the experiment, tags included.
  for (const group of ['Parameters', 'Metrics', 'Tags']) await expect(page.getByRole('group', { name: group })).toBeVisible();
  await expect(page.getByRole('group', { name: 'Tags' }).getByRole('checkbox', { name: 'team', exact: true })).toBeVisible();
  await page.getByText('Columns', { exact: true }).click();
  await pickColumns(page, ['team', 'loss']);
  const rows = page.getByTestId('run-row');
  // Newest first: lr-1.0 (i = 4, team vision), lr-0.3 (i = 3, nlp); loss last 1/(i+1), min 0.8/(i+1), max 1.5/(i+1).
  await expect(cell(rows.nth(0), 'tags:team')).toHaveText('vision');
  await expect(cell(rows.nth(1), 'tags:team')).toHaveText('nlp');
  await expect(cell(rows.nth(0), 'metrics:loss')).toHaveText('0.2');
  const agg = page.getByLabel('Aggregate of loss');
  await agg.selectOption('min');
  await expect(cell(rows.nth(0), 'metrics:loss')).toHaveText('0.16');
  await expect(cell(rows.nth(1), 'metrics:loss')).toHaveText('0.2');
  await agg.selectOption('max');
  await expect(cell(rows.nth(0), 'metrics:loss')).toHaveText('0.3');
  await expect(cell(rows.nth(4), 'metrics:loss')).toHaveText('1.5');
  // The server orders a metric by its latest value only: a max column is not a sort key.
  await expect(page.getByRole('columnheader', { name: /loss/ }).getByRole('button')).toBeDisabled();
  // A tag column sorts on the server.
  const team = page.getByRole('columnheader', { name: /team/ });
  await team.getByRole('button').click();
  await expect(team).toHaveAttribute('aria-sort', 'ascending');
  await expect.poll(async () => (await page.locator('[data-testid=run-row] [data-col="tags:team"]').allTextContents()).join(',')).toBe(
    'nlp,nlp,vision,vision,vision',
  );
});

test('grouping by a tag or param: header rows with count, mean and min-max, members visible and collapsible', async ({ page }) => {
  await page.goto(small());
  await expect(page.getByTestId('run-row')).toHaveCount(5);
  await pickColumns(page, ['accuracy']);
  await page.getByLabel('Group by').selectOption('tags:team');
  const groups = page.getByTestId('group-row');
  await expect(groups).toHaveCount(2);
  await expect(page.getByTestId('run-row')).toHaveCount(5);
  // nlp: i = 1, 3 (accuracy 0.6, 0.8); vision: i = 0, 2, 4 (0.5, 0.7, 0.9); groups in value order.
  await expect(groups.nth(0).getByRole('button', { name: 'nlp' })).toHaveAttribute('aria-expanded', 'true');
  await expect(groups.nth(0).getByTestId('group-count')).toHaveText('2 runs');
  await expect(groups.nth(0).getByTestId('group-mean')).toHaveText('0.7');
  await expect(groups.nth(0).getByTestId('group-range')).toHaveText('(0.6–0.8)');
  await expect(groups.nth(1).getByTestId('group-count')).toHaveText('3 runs');
  await expect(groups.nth(1).getByTestId('group-range')).toHaveText('(0.5–0.9)');
  // Members stay visible under their group, newest first.
  expect(await runNames(page)).toEqual(['lr-0.3', 'lr-0.01', 'lr-1.0', 'lr-0.1', 'lr-0.001']);
  await expect(page.getByTestId('run-count')).toContainText('2 groups, 5 runs');
  // Collapse with the keyboard.
  await groups.nth(0).getByRole('button', { name: 'nlp' }).focus();
  await page.keyboard.press('Enter');
  await expect(groups.nth(0).getByRole('button', { name: 'nlp' })).toHaveAttribute('aria-expanded', 'false');
  expect(await runNames(page)).toEqual(['lr-1.0', 'lr-0.1', 'lr-0.001']);
  await groups.nth(0).getByRole('button', { name: 'nlp' }).click();
  await expect(page.getByTestId('run-row')).toHaveCount(5);
  expect(await axe(page)).toEqual([]);

  // By a param, with the filter applied to the grouping.
  await page.getByLabel('Group by').selectOption('params:optimizer');
  await expect(groups).toHaveCount(2);
  await expect(groups.nth(0).getByRole('button', { name: 'adam' })).toBeVisible();
  await expect(groups.nth(0).getByTestId('group-count')).toHaveText('3 runs');
  await page.getByLabel('Filter').fill('metrics.accuracy > 0.65');
  await page.getByLabel('Filter').press('Enter');
  await expect(groups.nth(0).getByTestId('group-count')).toHaveText('1 run');
  await expect(groups.nth(0).getByTestId('group-mean')).toHaveText('0.7');
  await expect(groups.nth(1).getByTestId('group-count')).toHaveText('2 runs');
  await expect(groups.nth(1).getByTestId('group-range')).toHaveText('(0.8–0.9)');
  await page.getByLabel('Group by').selectOption('');
  await expect(groups).toHaveCount(0);
  await expect(page.getByTestId('run-row')).toHaveCount(3);
});

test('selected runs (keyboard too) open the compare and chart pages', async ({ page }) => {
  await page.goto(small());
  await expect(page.getByTestId('run-row')).toHaveCount(5);
  await expect(page.getByRole('button', { name: 'Compare' })).toBeDisabled();
  await page.getByRole('checkbox', { name: 'Select lr-1.0' }).check();
  await page.getByRole('checkbox', { name: 'Select lr-0.3' }).focus();
  await page.keyboard.press('Space');
  await expect(page.getByTestId('selected-count')).toHaveText('2 selected');
  const ids = await page
    .locator('[data-testid=run-row] [data-col=run] a')
    .evaluateAll((as) => as.slice(0, 2).map((a) => a.getAttribute('href').split('/').pop()));
  const expPath = `/ui/experiments/${process.env.KILN_UI_SMALL}`;
  await page.getByLabel('Chart metric').selectOption('accuracy');
  await expect(page.getByRole('link', { name: 'Chart' })).toHaveAttribute('href', `${expPath}/charts?runs=${ids.join(',')}&metric=accuracy`);
  await page.getByRole('link', { name: 'Compare' }).click();
  await expect(page).toHaveURL(`${base()}${expPath}/compare?runs=${ids.join(',')}`);
  await expect(page.getByTestId('param-table').locator('tbody tr')).toHaveCount(2);
  // lr-1.0 and lr-0.3 differ in lr; both use sgd.
  await expect(page.getByTestId('param-summary')).toContainText('1 of 2 params differ');
  // Selecting a whole group selects its members without loading them.
  await page.goBack();
  await page.getByLabel('Group by').selectOption('tags:team');
  await expect(page.getByTestId('group-row')).toHaveCount(2);
  await page.getByRole('checkbox', { name: 'Select the 3 runs of group vision' }).check();
  await expect(page.getByTestId('selected-count')).toHaveText('3 selected');
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
  // With data columns (an aggregate chooser in a header), a selection and the column picker open.
  await pickColumns(page, ['accuracy', 'loss', 'team']);
  await page.getByRole('checkbox', { name: 'Select lr-0.1' }).check();
  await page.getByRole('checkbox', { name: 'Select lr-0.3' }).check();
  await page.getByText('Columns', { exact: true }).click();
  expect(await axe(page)).toEqual([]);
});

test('runs table looks like the committed baseline', async ({ page }) => {
  await page.goto(small());
  await expect(page.getByTestId('run-row')).toHaveCount(5);
  await pickColumns(page, ['lr', 'accuracy', 'loss', 'team']);
  await page.getByLabel('Aggregate of loss').selectOption('min');
  await page.getByRole('checkbox', { name: 'Select lr-0.1' }).check();
  await page.getByRole('checkbox', { name: 'Select lr-0.3' }).check();
  await expect(cell(page.getByTestId('run-row').first(), 'metrics:loss')).toHaveText('0.16');
  await page.mouse.move(0, 0);
  await expect(page).toHaveScreenshot('runs-small.png', { mask: [page.locator('header.top')] });
  if (process.env.KILN_UI_DOCS) await page.screenshot({ path: path.join(here, '../../docs/ui/runs.png') });
  await page.getByLabel('Group by').selectOption('tags:team');
  await expect(page.getByTestId('group-row')).toHaveCount(2);
  await expect(page.getByTestId('group-mean').first()).toBeVisible();
  await expect(page).toHaveScreenshot('runs-grouped.png', { mask: [page.locator('header.top')] });
  if (process.env.KILN_UI_DOCS) await page.screenshot({ path: path.join(here, '../../docs/ui/runs-grouped.png') });
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
