// The compare page (/ui/experiments/<id>/compare?runs=...) over 200 runs seeded
// through the mlflow client by seed_compare.py on a kiln of this spec's own.
// Issue 15's target: every interaction < 100 ms on 200 runs. The page times
// each one itself (performance.now around the handler and the redraw,
// data-last-interaction-ms on <main>); the assertions keep a 2x margin for a
// loaded CI machine and every figure is printed.
import { test, expect } from '@playwright/test';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverFor, axe } from './kiln.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const TARGET_MS = 100;
const BUDGET_MS = 2 * TARGET_MS;
const N = 200;

const server = serverFor(test, { seed: 'seed_compare.py', seedTimeout: 180_000 });
const timings = [];

const url = (ids = server.seeded.run_ids) => `${server.url}/ui/experiments/${server.seeded.experiment}/compare?runs=${ids.join(',')}`;

// Waits for the page to record one more interaction and returns it.
async function nextInteraction(page, before, action) {
  await action();
  await expect.poll(() => page.getByTestId('compare').getAttribute('data-interactions')).not.toBe(before);
  const main = page.getByTestId('compare');
  return { name: await main.getAttribute('data-last-interaction'), ms: Number(await main.getAttribute('data-last-interaction-ms')) };
}

async function interaction(page, label, action) {
  const before = await page.getByTestId('compare').getAttribute('data-interactions');
  const r = await nextInteraction(page, before, action);
  timings.push({ label, ...r });
  expect(r.ms, `${label} took ${r.ms} ms`).toBeLessThan(BUDGET_MS);
  return r;
}

async function open(page) {
  await page.goto(url());
  await expect(page.getByTestId('param-table').locator('tbody tr')).toHaveCount(N);
  await expect(page.getByTestId('parallel-coords')).toHaveAttribute('data-axes', /ids/);
}

async function axisGeometry(page) {
  const canvas = page.getByTestId('parallel-coords');
  const box = await canvas.boundingBox();
  const axes = JSON.parse(await canvas.getAttribute('data-axes'));
  // The canvas has a 1 px border; axes.xs and top/bottom are inside it.
  return { box: { ...box, x: box.x + 1, y: box.y + 1 }, axes, x: (id) => box.x + 1 + axes.xs[axes.ids.indexOf(id)] };
}

test.afterAll(() => {
  if (!timings.length) return;
  console.log(`compare, ${N} runs: interaction times (page-measured, target ${TARGET_MS} ms, asserted < ${BUDGET_MS} ms)`);
  for (const t of timings) console.log(`  ${t.label.padEnd(34)} ${t.name.padEnd(13)} ${t.ms.toFixed(1)} ms`);
  const worst = Math.max(...timings.map((t) => t.ms));
  console.log(`  worst ${worst.toFixed(1)} ms over ${timings.length} interactions`);
});

test('200 runs: parallel coordinates over the differing params and metrics, a diff-only param table', async ({ page }) => {
  await open(page);
  await expect(page.getByRole('heading', { name: /Compare/ })).toContainText('200 runs');
  // Default axes: the params that differ (dataset is the same in every run), then the metrics.
  const { axes } = await axisGeometry(page);
  expect(axes.ids).toEqual([
    'params:arch', 'params:batch_size', 'params:dropout', 'params:lr', 'params:optimizer',
    'metrics:accuracy', 'metrics:epoch_seconds', 'metrics:loss',
  ]);
  await expect(page.getByTestId('highlighted')).toHaveText('all 200 runs highlighted (no brush)');
  // Run 199 has no dropout: said, not drawn as some value.
  await expect(page.getByTestId('axis-notes')).toContainText('dropout: 1 run without a value — not drawn on this axis');

  const table = page.getByTestId('param-table');
  const headers = () => table.locator('thead th').allTextContents();
  expect(await headers()).toEqual(['Run', 'arch', 'batch_size', 'dropout', 'lr', 'optimizer']);
  await expect(page.getByTestId('param-summary')).toContainText('5 of 6 params differ across the 200 runs');
  const first = table.locator('tbody tr').first();
  await expect(first.getByRole('link', { name: 'trial-000' })).toHaveAttribute('href', `/ui/runs/${server.seeded.run_ids[0]}`);
  await expect(table.locator('tbody tr').last().locator('td').nth(2)).toHaveText('(none)');
  await page.getByLabel(/show all 6 params/).check();
  expect(await headers()).toEqual(['Run', 'arch', 'batch_size', 'dataset', 'dropout', 'lr', 'optimizer']);
  await expect(first.locator('td').nth(2)).toHaveText('mnist');
  await page.getByLabel(/show all 6 params/).uncheck();
  expect(await headers()).not.toContain('dataset');
});

test('brushing axes highlights exactly the runs inside every range, within the interaction budget', async ({ page }) => {
  await open(page);
  // Keyboard brush on lr in [0.001, 0.01]: i % 4 in {1, 2}, 100 runs.
  await page.getByLabel('Brush axis').selectOption('params:lr');
  await page.getByLabel('From', { exact: true }).fill('0.001');
  await page.getByLabel('To', { exact: true }).fill('0.01');
  await interaction(page, 'brush lr (form)', () => page.getByRole('button', { name: 'Brush', exact: true }).click());
  await expect(page.getByTestId('highlighted')).toHaveText('100 of 200 runs inside the brushed ranges');
  // A categorical axis: optimizer = adam (even i) as well: i % 4 == 2, 50 runs.
  await page.getByLabel('Brush axis').selectOption('params:optimizer');
  await page.getByLabel('From', { exact: true }).selectOption('adam');
  await page.getByLabel('To', { exact: true }).selectOption('adam');
  await interaction(page, 'brush optimizer (form)', () => page.getByRole('button', { name: 'Brush', exact: true }).click());
  await expect(page.getByTestId('highlighted')).toHaveText('50 of 200 runs inside the brushed ranges');
  const table = page.getByTestId('param-table');
  await expect(table.locator('tbody tr.lit')).toHaveCount(50);
  await expect(page.getByTestId('brushes')).toContainText('optimizer: adam – adam');
  await page.getByRole('button', { name: 'Clear the brush on optimizer' }).click();
  await expect(page.getByTestId('highlighted')).toHaveText('100 of 200 runs inside the brushed ranges');
  await page.getByRole('button', { name: 'Clear brushes' }).click();
  await expect(page.getByTestId('highlighted')).toHaveText('all 200 runs highlighted (no brush)');

  // Mouse: drag along the accuracy axis over its upper half; every move is timed.
  const g = await axisGeometry(page);
  const x = g.x('metrics:accuracy');
  const top = g.box.y + g.axes.top;
  const bottom = g.box.y + g.axes.bottom;
  const mid = (top + bottom) / 2;
  await page.mouse.move(x, top + 2);
  await page.mouse.down();
  for (let k = 1; k <= 5; k++) {
    await interaction(page, `brush accuracy (drag move ${k})`, () => page.mouse.move(x, top + 2 + ((mid - top) * k) / 5));
  }
  await interaction(page, 'brush accuracy (drag end)', () => page.mouse.up());
  // The highlighted runs are exactly those whose accuracy is inside the brushed range.
  const [lo, hi] = JSON.parse(await page.locator('[data-axis="metrics:accuracy"]').getAttribute('data-range'));
  expect(hi).toBeCloseTo(Math.max(...server.seeded.accuracy), 2); // the drag started at the axis's top
  const expected = server.seeded.accuracy.filter((a) => a >= lo && a <= hi).length;
  const shown = Number((await page.getByTestId('highlighted').innerText()).match(/^(\d+) of 200/)[1]);
  expect(shown).toBeGreaterThan(0);
  expect(shown).toBeLessThan(N);
  expect(shown).toBe(expected);
  await expect(page.getByTestId('param-table').locator('tbody tr.lit')).toHaveCount(shown);
  // A click on the axis without dragging clears its brush.
  await interaction(page, 'click accuracy axis (clear)', async () => {
    await page.mouse.click(x, mid);
  });
  await expect(page.getByTestId('highlighted')).toHaveText('all 200 runs highlighted (no brush)');
});

test('changing axes and hovering the scatter stay within the interaction budget', async ({ page }) => {
  await open(page);
  await page.getByText(/^Axes \(/).click();
  const picker = page.locator('.axes .picker');
  await interaction(page, 'axis off (lr)', () => picker.getByRole('checkbox', { name: 'lr', exact: true }).uncheck());
  await interaction(page, 'axis on (dataset)', () => picker.getByRole('checkbox', { name: /^dataset/ }).check());
  await interaction(page, 'axis on (lr)', () => picker.getByRole('checkbox', { name: 'lr', exact: true }).check());
  const { axes } = await axisGeometry(page);
  expect(axes.ids.slice(-2)).toEqual(['params:dataset', 'params:lr']);
  await page.getByText(/^Axes \(/).click();

  await interaction(page, 'scatter x = lr', () => page.getByLabel('x', { exact: true }).selectOption('params:lr'));
  await interaction(page, 'scatter y = loss', () => page.getByLabel('y', { exact: true }).selectOption('metrics:loss'));
  await interaction(page, 'scatter x = accuracy', () => page.getByLabel('x', { exact: true }).selectOption('metrics:accuracy'));

  // Keyboard: the first run in x order (the lowest accuracy), then hover its point with the mouse.
  const scatter = page.getByTestId('scatter');
  const tip = page.getByTestId('scatter-tip');
  await scatter.focus();
  await interaction(page, 'scatter key ArrowRight', () => page.keyboard.press('ArrowRight'));
  await expect(tip).toBeVisible();
  const acc = server.seeded.accuracy;
  const lowest = acc.indexOf(Math.min(...acc));
  await expect(tip).toContainText(`trial-${String(lowest).padStart(3, '0')}`);
  const box = await scatter.boundingBox();
  const t = await tip.evaluate((el) => ({ x: Number(el.dataset.x), y: Number(el.dataset.y) }));
  await page.keyboard.press('Escape');
  await expect(tip).toBeHidden();
  const px = box.x + 1 + t.x; // the canvas has a 1 px border
  const py = box.y + 1 + t.y;
  await interaction(page, 'hover near a point', () => page.mouse.move(px + 4, py + 4));
  await interaction(page, 'hover on the point', () => page.mouse.move(px, py));
  await expect(tip).toContainText(`trial-${String(lowest).padStart(3, '0')}`);
  for (let k = 0; k < 6; k++) await interaction(page, `hover sweep ${k}`, () => page.mouse.move(box.x + 80 + k * 60, box.y + 40 + k * 30));
});

test('no axe-core violations on the compare page; it looks like the committed baseline', async ({ page }) => {
  await open(page);
  expect(await axe(page)).toEqual([]);
  await page.getByLabel('Brush axis').selectOption('params:lr');
  await page.getByLabel('From', { exact: true }).fill('0.001');
  await page.getByLabel('To', { exact: true }).fill('0.01');
  await page.getByRole('button', { name: 'Brush', exact: true }).click();
  await expect(page.getByTestId('highlighted')).toHaveText('100 of 200 runs inside the brushed ranges');
  await page.getByText(/^Axes \(/).click();
  expect(await axe(page)).toEqual([]);
  await page.getByText(/^Axes \(/).click();
  await page.mouse.move(0, 0);
  await expect(page).toHaveScreenshot('compare-200.png', { fullPage: true, mask: [page.locator('header.top')] });
  if (process.env.KILN_UI_DOCS) await page.screenshot({ path: path.join(here, '../../docs/ui/compare.png'), fullPage: true });
});

test('unknown run ids are reported, the others compared', async ({ page }) => {
  const ids = [...server.seeded.run_ids.slice(0, 3), 'f'.repeat(32)];
  await page.goto(url(ids));
  await expect(page.getByTestId('param-table').locator('tbody tr')).toHaveCount(3);
  await expect(page.getByTestId('missing-runs')).toContainText(`1 of the asked runs were not found in experiment ${server.seeded.experiment}: ${'f'.repeat(32)}`);
  await page.goto(`${server.url}/ui/experiments/${server.seeded.experiment}/compare`);
  await expect(page.getByRole('alert')).toContainText('No runs given');
});
