// The run page (/ui/runs/<id>) and its artifact browser, against a kiln of
// this spec's own seeded by seed_run.py through the mlflow client.
import { test, expect } from '@playwright/test';
import path from 'node:path';
import { serverFor, axe, repo } from './kiln.js';

const server = serverFor(test, { seed: 'seed_run.py' });
const TEXT_LIMIT = 1 << 20; // ArtifactPreview.jsx
const runUrl = (q = '') => `${server.url}/ui/runs/${server.seeded.run_id}${q}`;

const runPane = (page) => page.getByTestId('artifacts-run');
const tree = (page) => page.getByRole('tree', { name: 'Run artifacts' });
const item = (page, p) => tree(page).locator(`[data-path="${p}"]`);

async function openRun(page, q) {
  await page.goto(runUrl(q));
  await expect(page.getByTestId('run-name')).toHaveText('train-logreg');
  await expect(tree(page)).toBeVisible();
}

async function openFile(page, p) {
  const parts = p.split('/');
  for (let i = 1; i < parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    const el = item(page, dir);
    if ((await el.getAttribute('aria-expanded')) !== 'true') await el.click();
    await expect(el).toHaveAttribute('aria-expanded', 'true');
  }
  await item(page, p).click();
  await expect(runPane(page).getByTestId('preview-path')).toHaveText(p);
}

// Records every artifact request the page makes: URL, Range header, and the
// response's status and headers.
function recordArtifactRequests(page) {
  const seen = [];
  page.on('response', async (res) => {
    const u = new URL(res.url());
    if (u.pathname !== '/get-artifact' && !u.pathname.includes('/artifacts/files')) return;
    seen.push({
      path: u.searchParams.get('path') ?? u.searchParams.get('artifact_file_path'),
      range: res.request().headers()['range'] || null,
      status: res.status(),
      headers: res.headers(),
    });
  });
  return seen;
}

test('run overview: name, status, times, duration, experiment link, params, tags, latest metrics', async ({ page }) => {
  await openRun(page);
  const { run_id: runId, experiment_id: eid } = server.seeded;
  await expect(page.getByTestId('run-status')).toHaveText('FINISHED');
  await expect(page.getByTestId('run-id')).toHaveText(runId);
  await expect(page.getByTestId('run-start')).toHaveText('2023-11-14 22:13:20 UTC');
  await expect(page.getByTestId('run-end')).toHaveText('2023-11-14 22:25:54 UTC');
  await expect(page.getByTestId('run-duration')).toHaveText('12 min 34 s');
  const exp = page.getByTestId('experiment-link');
  await expect(exp).toHaveText('Experiment ui-run');
  await expect(exp).toHaveAttribute('href', `/ui/experiments/${eid}`);

  const params = page.getByTestId('params');
  await expect(params.getByRole('row')).toHaveCount(5);
  await expect(params.getByRole('row', { name: 'lr 0.01' })).toBeVisible();
  await expect(params.getByRole('row', { name: 'solver lbfgs' })).toBeVisible();

  // Own tags shown; mlflow.* tags apart, collapsed.
  const tags = page.getByTestId('tags');
  await expect(tags.getByRole('row', { name: 'team vision' })).toBeVisible();
  await expect(tags.getByRole('row', { name: 'owner ana' })).toBeVisible();
  await expect(tags.getByText('mlflow.user')).toHaveCount(0);
  const system = page.getByTestId('system-tags');
  await expect(system.getByTestId('system-tags-table')).toBeHidden();
  await system.locator('summary').click();
  await expect(system.getByRole('row', { name: /mlflow\.note\.content/ })).toBeVisible();
  await expect(system.getByRole('row', { name: 'mlflow.user seed' })).toBeVisible();

  // Latest value per metric, exactly as the server returned it, each linking to its chart.
  const metrics = page.getByTestId('metrics');
  await expect(metrics.getByRole('row')).toHaveCount(4);
  const acc = metrics.getByRole('row', { name: /^accuracy/ });
  await expect(acc.getByRole('cell').nth(0)).toHaveText('0.905');
  await expect(acc.getByRole('cell').nth(1)).toHaveText('9');
  await expect(metrics.getByRole('row', { name: /^loss/ }).getByRole('cell').first()).toHaveText('0.1');
  const link = metrics.getByRole('link', { name: 'Chart of loss' });
  await expect(link).toHaveAttribute('href', `/ui/experiments/${eid}/charts?runs=${runId}&metric=loss`);
});

test('datasets: name, context, digest, source and schema from mlflow.log_input', async ({ page }) => {
  await openRun(page);
  const row = page.getByTestId('dataset-row');
  await expect(row).toHaveCount(1);
  const cells = row.getByRole('cell');
  await expect(cells.nth(0)).toHaveText('iris-train');
  await expect(cells.nth(1)).toHaveText('training');
  await expect(cells.nth(2)).toHaveText(/^[0-9a-f]{8}$/);
  await expect(cells.nth(3)).toContainText('s3://datasets/iris/train.parquet');
  await expect(cells.nth(4)).toHaveText('150');
  const schema = cells.nth(5);
  for (const col of ['sepal_length', 'sepal_width', 'petal_length', 'species']) await expect(schema).toContainText(col);
  await expect(schema).toContainText('double');
});

test('logged model: listed with its files; MLmodel shown as YAML with its flavors picked out', async ({ page }) => {
  await openRun(page);
  const models = page.getByTestId('logged-models');
  await expect(models.getByRole('cell', { name: 'model', exact: true })).toBeVisible();
  await expect(models.getByTestId('model-id')).toHaveText(server.seeded.model_id);
  const show = models.getByRole('button', { name: 'Show files' });
  await expect(show).toHaveAttribute('aria-expanded', 'false');
  await show.click();
  await expect(models.getByRole('button', { name: 'Hide files' })).toHaveAttribute('aria-expanded', 'true');
  const files = page.getByRole('tree', { name: /^Files of logged model/ });
  await expect(files).toBeVisible();
  await files.locator('[data-path="MLmodel"]').click();
  const flavors = page.getByTestId('mlmodel-flavors');
  await expect(flavors.locator('.flavor')).toHaveText(['python_function', 'sklearn']);
  await expect(flavors).toContainText('loader_module: mlflow.sklearn');
  const yaml = page.getByTestId('mlmodel-preview');
  await expect(yaml.locator('.flavor-line')).toHaveText(['  python_function:', '  sklearn:']);
  await expect(yaml).toContainText('mlflow_version:');
  // The serialized model has no preview, only its download link.
  await files.locator('[data-path="model.skops"]').click();
  await expect(page.getByTestId('no-preview')).toBeVisible();
  await expect(page.getByTestId('artifact-download')).toHaveAttribute('href', /logged-models\/.+\/artifacts\/files\?artifact_file_path=model.skops$/);
});

test('image previews: PNG and SVG as <img> (the SVG script never runs); an image over 5 MiB is not fetched', async ({ page }) => {
  const seen = recordArtifactRequests(page);
  await openRun(page);
  await openFile(page, 'plots/confusion.png');
  const img = page.getByTestId('image-preview');
  await expect(img).toBeVisible();
  expect(await img.evaluate((el) => [el.naturalWidth, el.naturalHeight])).toEqual([120, 120]);
  expect(await img.getAttribute('src')).toMatch(/^blob:/);

  await item(page, 'plots/curve.svg').click();
  await expect(runPane(page).getByTestId('preview-path')).toHaveText('plots/curve.svg');
  await expect(img).toBeVisible();
  expect(await img.evaluate((el) => el.naturalWidth)).toBe(160);
  expect(await page.evaluate(() => window.__svgScriptRan)).toBeUndefined();

  await item(page, 'plots/huge.png').click();
  await expect(page.getByTestId('not-previewed')).toContainText('over the 5.0 MiB preview limit');
  await expect(page.getByTestId('artifact-download')).toBeVisible();
  await page.waitForTimeout(300);
  expect(seen.filter((r) => r.path === 'plots/huge.png')).toEqual([]);
});

test('text, JSON, CSV and TSV previews', async ({ page }) => {
  await openRun(page);
  await openFile(page, 'logs/train.log');
  const text = page.getByTestId('text-preview');
  await expect(text).toContainText('INFO step=0 loss=1.0000');
  await expect(text).toContainText('step=9 loss=0.1000');
  await expect(page.getByTestId('truncated')).toHaveCount(0);

  await item(page, 'summary.json').click();
  const json = page.getByTestId('json-preview');
  // Pretty printed: two-space indentation, one key per line.
  await expect(json.locator('pre')).toHaveText(
    JSON.stringify({ model: 'logreg', metrics: { accuracy: 0.905, f1: 0.8731 }, classes: ['setosa', 'versicolor', 'virginica'] }, null, 2),
  );

  await openFile(page, 'data/predictions.csv');
  const table = page.getByTestId('table-preview').getByRole('table');
  await expect(table.getByRole('columnheader')).toHaveText(['id', 'species', 'prediction', 'comment']);
  await expect(table.locator('tbody tr')).toHaveCount(200);
  await expect(page.getByTestId('table-note')).toHaveText('200 rows shown (the first 200; the file has more), 4 columns.');
  // Quoted fields: a comma inside quotes, doubled quotes.
  await expect(table.locator('tbody tr').nth(1).getByRole('cell').nth(3)).toHaveText('has, comma');
  await expect(table.locator('tbody tr').nth(2).getByRole('cell').nth(3)).toHaveText('quoted "word"');

  await item(page, 'data/features.tsv').click();
  const tsv = page.getByTestId('table-preview').getByRole('table');
  await expect(tsv.getByRole('columnheader')).toHaveText(['feature', 'importance']);
  await expect(tsv.locator('tbody tr')).toHaveCount(3);
  await expect(page.getByTestId('table-note')).toHaveText('3 rows shown, 2 columns.');
});

test('a text file over 1 MiB is read with one Range request for its first 1 MiB, and says so', async ({ page }) => {
  const seen = recordArtifactRequests(page);
  await openRun(page);
  await openFile(page, 'logs/big.log');
  const size = server.seeded.sizes['big.log'];
  expect(size).toBeGreaterThan(TEXT_LIMIT);
  const note = page.getByTestId('truncated');
  await expect(note).toHaveText(
    `Showing the first 1.0 MiB of ${(size / (1 << 20)).toFixed(1)} MiB (1,048,576 of ${size.toLocaleString('en-US')} bytes).`,
  );
  await expect(page.getByTestId('text-preview')).toContainText('0000000 epoch=0 batch=0');
  const reqs = seen.filter((r) => r.path === 'logs/big.log');
  expect(reqs).toHaveLength(1);
  expect(reqs[0].range).toBe(`bytes=0-${TEXT_LIMIT - 1}`);
  expect(reqs[0].status).toBe(206);
  expect(reqs[0].headers['content-range']).toBe(`bytes 0-${TEXT_LIMIT - 1}/${size}`);
  expect(Number(reqs[0].headers['content-length'])).toBe(TEXT_LIMIT);
  // Nothing past the limit reached the page: the last line shown is cut inside the first MiB.
  const shown = await page.getByTestId('text-preview').locator('pre').textContent();
  expect(new TextEncoder().encode(shown).length).toBe(TEXT_LIMIT);
});

test('every file has a plain download link that fetches the whole file', async ({ page, request }) => {
  const seen = recordArtifactRequests(page);
  await openRun(page);
  await item(page, 'weights.bin').click();
  await expect(page.getByTestId('no-preview')).toBeVisible();
  const link = page.getByTestId('artifact-download');
  await expect(link).toHaveText('Download weights.bin');
  await expect(link).toHaveAttribute('download', 'weights.bin');
  const href = await link.getAttribute('href');
  expect(href).toBe(`/get-artifact?run_id=${server.seeded.run_id}&path=weights.bin`);
  // Selecting a file without a preview fetched nothing.
  expect(seen.filter((r) => r.path === 'weights.bin')).toEqual([]);
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  expect(download.suggestedFilename()).toBe('weights.bin');
  const res = await request.get(`${server.url}${href}`);
  expect(res.status()).toBe(200);
  expect((await res.body()).length).toBe(2048);

  // The large log: the download is the whole file, not the previewed head.
  await openFile(page, 'logs/big.log');
  const big = await request.get(`${server.url}${await page.getByTestId('artifact-download').getAttribute('href')}`);
  expect((await big.body()).length).toBe(server.seeded.sizes['big.log']);
});

test('the artifact tree works from the keyboard', async ({ page }) => {
  await openRun(page);
  const focused = () => page.evaluate(() => document.activeElement?.getAttribute('data-path'));
  // One tab stop for the whole tree (roving tabindex), on its first item at first.
  await item(page, 'data').focus();
  expect(await focused()).toBe('data');
  await expect(tree(page).locator('[tabindex="0"]')).toHaveCount(1);
  await page.keyboard.press('ArrowDown');
  await expect.poll(focused).toBe('logs');
  await page.keyboard.press('ArrowRight'); // opens logs, loading its listing
  await expect(item(page, 'logs')).toHaveAttribute('aria-expanded', 'true');
  await expect(item(page, 'logs/train.log')).toBeVisible();
  await page.keyboard.press('ArrowRight'); // into the folder
  await expect.poll(focused).toBe('logs/big.log');
  await page.keyboard.press('ArrowDown');
  await expect.poll(focused).toBe('logs/train.log');
  await page.keyboard.press('Enter');
  await expect(runPane(page).getByTestId('preview-path')).toHaveText('logs/train.log');
  await expect(item(page, 'logs/train.log')).toHaveAttribute('aria-selected', 'true');
  await expect(page).toHaveURL(/[?&]artifact=logs%2Ftrain.log$/);
  await page.keyboard.press('ArrowLeft'); // to the parent
  await expect.poll(focused).toBe('logs');
  await page.keyboard.press('ArrowLeft'); // closes it
  await expect(item(page, 'logs')).toHaveAttribute('aria-expanded', 'false');
  await expect(item(page, 'logs/train.log')).toHaveCount(0);
  await page.keyboard.press('End');
  await expect.poll(focused).toBe('weights.bin');
  await page.keyboard.press('Home');
  await expect.poll(focused).toBe('data');
  await page.keyboard.press(' ');
  await expect(item(page, 'data')).toHaveAttribute('aria-expanded', 'true');
  await expect(item(page, 'data/predictions.csv')).toHaveAttribute('aria-level', '2');
});

test('?artifact= opens a file, listing the folders on its way', async ({ page }) => {
  await openRun(page, '?artifact=data/features.tsv');
  await expect(runPane(page).getByTestId('preview-path')).toHaveText('data/features.tsv');
  await expect(item(page, 'data')).toHaveAttribute('aria-expanded', 'true');
  await expect(page.getByTestId('table-preview')).toBeVisible();
});

test('an unknown run says so', async ({ page }) => {
  await page.goto(`${server.url}/ui/runs/0123456789abcdef0123456789abcdef`);
  await expect(page.getByRole('alert')).toContainText(/not found|does not exist/i);
});

test('no axe-core violations with previews open', async ({ page }) => {
  await openRun(page);
  await page.getByTestId('system-tags').locator('summary').click();
  await openFile(page, 'data/predictions.csv');
  await expect(page.getByTestId('table-preview')).toBeVisible();
  expect(await axe(page)).toEqual([]);
  await openFile(page, 'plots/confusion.png');
  await expect(page.getByTestId('image-preview')).toBeVisible();
  await page.getByTestId('logged-models').getByRole('button', { name: 'Show files' }).click();
  await page.getByRole('tree', { name: /^Files of logged model/ }).locator('[data-path="MLmodel"]').click();
  await expect(page.getByTestId('mlmodel-flavors')).toBeVisible();
  expect(await axe(page)).toEqual([]);
  await openFile(page, 'logs/big.log');
  await expect(page.getByTestId('truncated')).toBeVisible();
  expect(await axe(page)).toEqual([]);
});

test('run page looks like the committed baselines', async ({ page }) => {
  await openRun(page);
  await openFile(page, 'plots/confusion.png');
  await expect(page.getByTestId('image-preview')).toBeVisible();
  await page.mouse.move(0, 0); // no hover highlight in the pictures
  // Masked: the random ids, and the header (other pages' nav entries and widgets).
  const mask = [page.getByTestId('run-id'), page.getByTestId('model-id'), page.locator('header.top')];
  await expect(page).toHaveScreenshot('run-page.png', { mask });
  const artifacts = page.locator('section[aria-labelledby=run-artifacts]');
  await expect(artifacts).toHaveScreenshot('run-artifacts.png');
  // docs/ui/run.png (docs/ui.md): KILN_UI_DOCS_SCREENSHOTS=1 writes it from this same page.
  if (process.env.KILN_UI_DOCS_SCREENSHOTS) {
    await page.screenshot({ path: path.join(repo, 'docs/ui/run.png'), fullPage: true });
  }
});
