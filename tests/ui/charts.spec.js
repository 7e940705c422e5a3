// The charts page (/ui/experiments/:id/charts) against a kiln of its own,
// seeded by seed_charts.py through the mlflow client: a 1,000,000-point
// history with one spike, six small runs with params for grouping.
//
// The chart element exposes what it measured and drew (MetricChart.jsx):
// data-draw-ms is performance.now() from uPlot's drawClear hook to its draw
// hook; data-max-y etc. are computed from the columns uPlot drew.
import { test, expect } from '@playwright/test';
import path from 'node:path';
import { serverFor, axe, repo } from './kiln.js';

const server = serverFor(test, { seed: 'seed_charts.py', seedTimeout: 900_000 });
// Every full-range view asks the server to bucket 1,000,000 points (seconds
// on SQLite under load: docs/tracking.md), and the zoom test does so thrice.
test.describe.configure({ timeout: 180_000 });

// Issue 15: a 1M-point chart drawn in < 300 ms. The assertion keeps a 2x
// margin for the busy shared machine, as runs.spec.js does; the measured
// time is printed.
const DRAW_TARGET_MS = 300;
const DRAW_BUDGET_MS = 2 * DRAW_TARGET_MS;

const seeded = () => server.seeded;
const chartsUrl = (query = '') => `${server.url}/ui/experiments/${seeded().experiment}/charts${query ? `?${query}` : ''}`;
const smallIds = () => seeded().small.map((r) => r.id).join(',');

test.beforeAll(() => {
  console.log(`charts seed: 1,000,000 points in ${seeded().big_seconds} s, whole seed ${seeded().seconds} s`);
});

async function state(page) {
  return page.getByTestId('metric-chart').evaluate((el) => ({ ...el.dataset, summary: JSON.parse(el.dataset.summary || '[]') }));
}

// Waits until the chart has painted its latest data; with `prev`, until a
// newer load (refetch) or a newer paint than prev's has happened.
async function drawn(page, prev = null, { refetch = false } = {}) {
  await expect
    .poll(
      async () => {
        const d = await state(page);
        if (d.state !== 'ready' || d.seq !== d.drawnSeq) return false;
        if (prev && refetch) return Number(d.seq) > Number(prev.seq);
        if (prev) return Number(d.draws) > Number(prev.draws);
        return true;
      },
      { timeout: 90_000 },
    )
    .toBe(true);
  return state(page);
}

function bucketRequests(page) {
  const seen = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/2.0/kiln/ui/metric-buckets')) seen.push(new URL(r.url()).searchParams);
  });
  return seen;
}

const series = (d, role, group) => d.summary.filter((s) => s.role === role && (group === undefined || s.group === group));

test('a 1,000,000-point history draws within budget and its single spike is drawn', async ({ page }) => {
  const requests = bucketRequests(page);
  await page.goto(chartsUrl(`runs=${seeded().big}&metric=loss`));
  const d = await drawn(page);
  // Where the fetch went, from the browser's resource timing of the one call.
  const [rt] = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .filter((e) => e.name.includes('/api/2.0/kiln/ui/metric-buckets'))
      .map((e) => ({ queued: e.requestStart - e.startTime, wait: e.responseStart - e.requestStart, body: e.responseEnd - e.responseStart })),
  );
  console.log(
    `1M-point chart: ${d.buckets} buckets of ${d.bucketWidth} steps, draw ${d.drawMs} ms (uPlot drawClear→draw), ` +
      `render ${d.renderMs} ms (data handed to uPlot → painted), fetch ${d.fetchMs} ms (target ${DRAW_TARGET_MS} ms; ` +
      `request queued ${rt.queued.toFixed(1)} ms, server ${rt.wait.toFixed(1)} ms, body ${rt.body.toFixed(1)} ms)`,
  );
  expect(Number(d.totalCount)).toBe(1_000_000);
  expect(Number(d.rangeCount)).toBe(1_000_000);
  expect(Number(d.maxY)).toBe(seeded().spike);
  expect(Number(d.minY)).toBe(seeded().big_min);
  expect(Number(d.drawMs)).toBeGreaterThan(0);
  expect(Number(d.drawMs)).toBeLessThan(DRAW_BUDGET_MS);
  expect(Number(d.renderMs)).toBeLessThan(DRAW_BUDGET_MS);
  // One bucketed call for the whole history, sized to the plot.
  expect(requests.length).toBe(1);
  expect(requests[0].get('start')).toBeNull();
  expect(Number(requests[0].get('buckets'))).toBe(Number(d.buckets));
  // The spike is the max of its bucket's band; the line is the bucket means.
  const [max] = series(d, 'max');
  const [mean] = series(d, 'mean');
  expect(max.max).toBe(100);
  expect(mean.max).toBeLessThan(2);
  await expect(page.getByTestId('chart-status')).toContainText('1,000,000 points in range');

  // Redraws (a resize) stay within the budget too.
  await page.setViewportSize({ width: 1100, height: 800 });
  const r = await drawn(page, d);
  console.log(`1M-point chart redraw after resize: draw ${r.drawMs} ms`);
  expect(Number(r.drawMs)).toBeLessThan(DRAW_BUDGET_MS);
  expect(Number(r.maxY)).toBe(100);
});

test('zooming re-queries the visible range: finer buckets, the spike kept; reset returns', async ({ page }) => {
  const requests = bucketRequests(page);
  await page.goto(chartsUrl(`runs=${seeded().big}&metric=loss`));
  const full = await drawn(page);
  const fullWidth = Number(full.bucketWidth);

  // Drag over the plot around the spike's step, again and again: each drag
  // is a re-query of the dragged range, until buckets are single steps.
  const over = page.locator('[data-testid=metric-chart] .u-over');
  const box = await over.boundingBox();
  async function dragAroundSpike(d) {
    const at = box.x + ((seeded().spike_step - Number(d.xMin)) / (Number(d.xMax) - Number(d.xMin))) * box.width;
    await page.mouse.move(at - 40, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(at + 40, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    return drawn(page, d, { refetch: true });
  }
  let prev = full;
  for (let i = 0; i < 8 && Number(prev.bucketWidth) > 1; i++) {
    const next = await dragAroundSpike(prev);
    const ask = requests[requests.length - 1];
    const start = Number(ask.get('start'));
    const end = Number(ask.get('end'));
    console.log(`zoom ${i + 1}: steps ${start}..${end}, buckets of ${next.bucketWidth}, draw ${next.drawMs} ms`);
    expect(start).toBeLessThanOrEqual(seeded().spike_step);
    expect(end).toBeGreaterThanOrEqual(seeded().spike_step);
    expect(end - start).toBeLessThan(Number(prev.xMax) - Number(prev.xMin));
    expect(Number(next.rangeCount)).toBe(end - start + 1);
    expect(Number(next.bucketWidth)).toBeLessThan(Number(prev.bucketWidth));
    expect(Number(next.xMin)).toBe(start);
    expect(Number(next.xMax)).toBe(end);
    expect(Number(next.maxY)).toBe(100);
    expect(next.summary).not.toEqual(prev.summary);
    prev = next;
  }
  expect(Number(prev.bucketWidth)).toBe(1);
  await expect(page.getByTestId('chart-range')).toContainText('(zoomed)');

  // Keyboard on the focused plot: "-" doubles the range, "+" halves it.
  const chart = page.getByTestId('metric-chart');
  await chart.focus();
  const span = (d) => Number(d.xMax) - Number(d.xMin);
  await page.keyboard.press('-');
  const out = await drawn(page, prev, { refetch: true });
  expect(span(out)).toBeGreaterThan(1.9 * span(prev));
  await page.keyboard.press('+');
  const inAgain = await drawn(page, out, { refetch: true });
  expect(span(inAgain)).toBeLessThan(0.6 * span(out));
  prev = inAgain;

  // Zoom out is a wider re-query; double-click resets to the whole history.
  await page.getByRole('button', { name: 'Zoom out' }).click();
  const wider = await drawn(page, prev, { refetch: true });
  expect(Number(wider.rangeCount)).toBeGreaterThan(Number(prev.rangeCount));
  await over.dblclick();
  const reset = await drawn(page, wider, { refetch: true });
  expect(requests[requests.length - 1].get('start')).toBeNull();
  expect(Number(reset.bucketWidth)).toBe(fullWidth);
  expect(Number(reset.rangeCount)).toBe(1_000_000);
  await expect(page.getByRole('button', { name: 'Reset zoom' })).toBeDisabled();

  // The buttons alone (keyboard users): zoom in, pan, reset.
  await page.getByRole('button', { name: 'Zoom in' }).click();
  const half = await drawn(page, reset, { refetch: true });
  expect(Number(half.rangeCount)).toBeLessThan(600_000);
  await page.getByRole('button', { name: 'Pan right' }).click();
  const panned = await drawn(page, half, { refetch: true });
  expect(Number(panned.xMin)).toBeGreaterThan(Number(half.xMin));
  await page.getByRole('button', { name: 'Reset zoom' }).click();
  const back = await drawn(page, panned, { refetch: true });
  expect(Number(back.rangeCount)).toBe(1_000_000);
});

test('x by step, by relative wall time and by another metric', async ({ page }) => {
  const requests = bucketRequests(page);
  await page.goto(chartsUrl(`runs=${smallIds()}&metric=loss`));
  const step = await drawn(page);
  expect(step.xKind).toBe('step');
  expect(Number(step.xMax)).toBe(499);
  expect(series(step, 'mean')).toHaveLength(6);

  await page.getByLabel('X axis', { exact: true }).selectOption('time');
  const time = await drawn(page, step, { refetch: true });
  expect(time.xKind).toBe('time');
  expect(requests.some((q) => q.get('x') === 'time')).toBe(true);
  // Relative seconds since each run's first point: the slowest run took longest.
  const longest = Math.max(...seeded().small.map((r) => r.duration_s));
  expect(Math.abs(Number(time.xMax) - longest)).toBeLessThan(1);
  expect(Number(time.xMin)).toBe(0);
  await expect(page).toHaveURL(/x=time/);

  await page.getByLabel('X axis', { exact: true }).selectOption('metric:epoch');
  const byEpoch = await drawn(page, time, { refetch: true });
  expect(byEpoch.xKind).toBe('metric');
  expect(requests.some((q) => q.get('key') === 'epoch')).toBe(true);
  expect(Number(byEpoch.xMin)).toBe(0);
  expect(Number(byEpoch.xMax)).toBeCloseTo(499 / 50, 6);

  await page.getByLabel('X axis', { exact: true }).selectOption('step');
  const again = await drawn(page, byEpoch, { refetch: true });
  expect(Number(again.xMax)).toBe(499);
});

test('log scale: decade-aligned y axis, the spike still drawn', async ({ page }) => {
  await page.goto(chartsUrl(`runs=${seeded().big}&metric=loss`));
  const lin = await drawn(page);
  expect(lin.yScale).toBe('linear');
  await page.getByLabel('Log scale (y)', { exact: true }).check();
  const log = await drawn(page, lin);
  expect(log.yScale).toBe('log');
  const decades = [Math.log10(Number(log.yMin)), Math.log10(Number(log.yMax))];
  for (const d of decades) expect(Math.abs(d - Math.round(d))).toBeLessThan(1e-9);
  expect(Number(log.yMax)).toBeGreaterThanOrEqual(100);
  expect(Number(log.maxY)).toBe(100);
  await expect(page).toHaveURL(/log=1/);
  await page.getByLabel('Log scale (y)', { exact: true }).uncheck();
  const back = await drawn(page, log);
  expect(back.yScale).toBe('linear');
});

test('smoothing smooths the mean line and keeps the raw min/max band', async ({ page }) => {
  await page.goto(chartsUrl(`runs=${seeded().small[0].id}&metric=loss`));
  const raw = await drawn(page);
  await page.getByLabel('Smoothing', { exact: true }).fill('0.9');
  const smooth = await drawn(page, raw);
  await expect(page.getByTestId('smoothing-value')).toHaveText('0.90');
  await expect(page).toHaveURL(/smooth=0\.9/);
  const [rawMean] = series(raw, 'mean');
  const [smoothMean] = series(smooth, 'mean');
  // The zig-zag is gone: the line moves far less, from the same start.
  expect(smoothMean.tv).toBeLessThan(rawMean.tv * 0.5);
  expect(smoothMean.n).toBe(rawMean.n);
  for (const role of ['min', 'max']) expect(series(smooth, role)).toEqual(series(raw, role));
  expect(Number(smooth.maxY)).toBe(seeded().small[0].loss_max);
});

test('grouping by a param: a mean line and a min–max band per group, members drawn thin', async ({ page }) => {
  await page.goto(chartsUrl(`runs=${smallIds()}&metric=loss`));
  const plain = await drawn(page);
  await page.getByLabel('Group by', { exact: true }).selectOption('param:optimizer');
  const grouped = await drawn(page, plain);
  await expect(page).toHaveURL(/group=param:optimizer/);
  const legend = page.getByTestId('chart-legend');
  await expect(legend).toContainText('optimizer=adam');
  await expect(legend).toContainText('optimizer=sgd');
  expect(series(grouped, 'member')).toHaveLength(6);
  for (const opt of ['adam', 'sgd']) {
    const g = `optimizer=${opt}`;
    expect(series(grouped, 'member', g)).toHaveLength(3);
    const [mean] = series(grouped, 'mean', g);
    const [max] = series(grouped, 'max', g);
    const [min] = series(grouped, 'min', g);
    expect(max.max).toBe(seeded().groups[opt].loss_max);
    expect(min.min).toBe(seeded().groups[opt].loss_min);
    expect(mean.max).toBeLessThanOrEqual(max.max);
    expect(mean.min).toBeGreaterThanOrEqual(min.min);
  }
});

test('without runs= the first 10 runs by start time are charted; the URL names the metric', async ({ page }) => {
  await page.goto(chartsUrl());
  await expect(page.getByTestId('charts-runs')).toContainText("first 7 runs by start time");
  const d = await drawn(page);
  expect(series(d, 'mean').map((s) => s.label)).toEqual(['spike-1m', ...seeded().small.map((r) => r.name)]);
  expect(Number(d.maxY)).toBe(100);
  await page.getByLabel('Metric', { exact: true }).selectOption('acc');
  await expect(page).toHaveURL(/metric=acc/);
  const acc = await drawn(page, d, { refetch: true });
  await expect(page.getByTestId('chart-missing')).toContainText('No acc logged by: spike-1m');
  expect(series(acc, 'mean').filter((s) => s.n > 0)).toHaveLength(6);
});

test('no axe-core violations on the charts page', async ({ page }) => {
  await page.goto(chartsUrl(`runs=${smallIds()}&metric=loss&group=param:optimizer`));
  await drawn(page);
  expect(await axe(page)).toEqual([]);
  await page.goto(chartsUrl(`runs=${seeded().big}&metric=loss&log=1`));
  await drawn(page);
  expect(await axe(page)).toEqual([]);
});

test('charts page looks like the committed baseline', async ({ page }) => {
  await page.goto(chartsUrl(`runs=${smallIds()}&metric=loss&smooth=0.6`));
  await drawn(page);
  await page.mouse.move(0, 0);
  // The header belongs to other pages' widgets (identity, sign-in): masked.
  await expect(page).toHaveScreenshot('charts-page.png', { mask: [page.locator('header.top')] });
  if (process.env.KILN_UI_DOCS) await page.screenshot({ path: path.join(repo, 'docs/ui/charts.png') });
});
