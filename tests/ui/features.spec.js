// The feature store pages against a kiln of their own (--grpc-port 0 for
// Feast's remote registry), seeded by seed_features.py through the
// unmodified Feast SDK: projects, views with schema, ttl and freshness
// (fresh / stale / no data), the on-demand view kiln does not run, feature
// services, lineage and materialization jobs (one seeded, one started here
// and watched while it runs).
import { test, expect } from '@playwright/test';
import path from 'node:path';
import { serverFor, axe, repo } from './kiln.js';

const server = serverFor(test, { args: ['--grpc-port', '0'], seed: 'seed_features.py', seedTimeout: 300_000 });
const ui = (p) => `${server.url}/ui/features${p}`;
const project = () => server.seeded.project;

const viewRow = (page, name) => page.getByTestId('views').locator(`[data-view="${name}"]`);

// Times, ages, durations and the temp dir of the sources change every run;
// the header (other pages' nav entries, the identity widget) is not this page's.
const masks = (page) => [page.locator('.time'), page.locator('.mask-path'), page.locator('header.top')];

test('the project list shows each Feast project with its object counts', async ({ page }) => {
  await page.goto(`${server.url}/ui/`);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Features' }).click();
  await expect(page).toHaveURL(ui(''));
  const table = page.getByTestId('projects');
  await expect(table.getByRole('row')).toHaveCount(3); // header + 2 projects
  const cells = (name) => table.getByRole('row').filter({ has: page.getByRole('link', { name, exact: true }) }).getByRole('cell');
  // Project, description, entities, data sources, feature views, on-demand views, services, updated.
  await expect(cells(project())).toHaveText([project(), '', '2', '5', '4', '1', '2', /UTC$/]);
  await expect(cells(server.seeded.other_project)).toHaveText([server.seeded.other_project, '', '1', '0', '0', '0', '0', /UTC$/]);
  await table.getByRole('link', { name: project() }).click();
  await expect(page).toHaveURL(ui(`/${project()}`));
  await expect(page.getByRole('heading', { level: 1 })).toContainText(project());
});

test('feature views: join keys, ttl and freshness labelled fresh, stale and no data, in distinct colours', async ({ page }) => {
  await page.goto(ui(`/${project()}`));
  const { fresh_view, stale_view, empty_view } = server.seeded;
  await expect(page.getByTestId('view-row')).toHaveCount(4);
  const expectations = [
    [fresh_view, '1 d', 'fresh', /^newest value 1 h( \d+ (s|min))? ago$/],
    [stale_view, '5 min', 'stale', /^newest value 2 h( \d+ (s|min))? ago$/],
    [empty_view, '1 d', 'no data', /^no stored value$/],
  ];
  for (const [name, ttl, label, detail] of expectations) {
    const row = viewRow(page, name);
    await expect(row.getByTestId('view-ttl')).toHaveText(ttl);
    await expect(row.getByTestId('freshness')).toHaveText(label);
    await expect(row.getByRole('cell').nth(7)).toHaveText(detail);
  }
  await expect(viewRow(page, fresh_view).getByRole('cell').nth(1)).toHaveText('driver_id INT64');
  await expect(viewRow(page, stale_view).getByRole('cell').nth(1)).toHaveText('customer_id STRING');
  await expect(viewRow(page, fresh_view).getByRole('cell').nth(2)).toHaveText('3');
  // The colour repeats the label: each state has its own.
  const colours = await Promise.all(
    [fresh_view, stale_view, empty_view].map((v) =>
      viewRow(page, v).getByTestId('freshness').evaluate((el) => getComputedStyle(el).backgroundColor),
    ),
  );
  expect(new Set(colours).size).toBe(3);
});

test('a view page: schema with Feast types, ttl, freshness, recorded windows and jobs', async ({ page }) => {
  const { fresh_view, stale_view, empty_view, job_rows } = server.seeded;
  await page.goto(ui(`/${project()}`));
  await viewRow(page, fresh_view).getByRole('link', { name: fresh_view }).click();
  await expect(page).toHaveURL(ui(`/${project()}/views/${fresh_view}`));
  const schema = page.getByTestId('schema-row');
  await expect(schema).toHaveCount(3);
  await expect(schema.nth(0).getByRole('cell')).toHaveText(['conv_rate', 'Float32', 'FLOAT']);
  await expect(schema.nth(1).getByRole('cell')).toHaveText(['acc_rate', 'Float64', 'DOUBLE']);
  await expect(schema.nth(2).getByRole('cell')).toHaveText(['avg_daily_trips', 'Int64', 'INT64']);
  await expect(page.getByTestId('view-facts').getByTestId('view-ttl')).toHaveText('1 d');
  await expect(page.getByTestId('view-freshness').getByTestId('freshness')).toHaveText('fresh');
  await expect(page.getByTestId('windows').getByRole('row')).toHaveCount(2);
  await expect(page.getByTestId('job-row')).toHaveCount(1);
  await expect(page.getByTestId('job-rows')).toHaveText(`${job_rows} of ${job_rows} rows`);
  await expect(page.getByTestId('view-facts')).toContainText('driver_activity');

  // Materialized synchronously: a recorded window, no job, stale.
  await page.goto(ui(`/${project()}/views/${stale_view}`));
  await expect(page.getByTestId('view-freshness').getByTestId('freshness')).toHaveText('stale');
  await expect(page.getByTestId('view-facts').getByTestId('view-ttl')).toHaveText('5 min');
  await expect(page.getByTestId('windows').getByRole('row')).toHaveCount(2);
  await expect(page.getByTestId('no-jobs')).toBeVisible();

  await page.goto(ui(`/${project()}/views/${empty_view}`));
  await expect(page.getByTestId('view-freshness').getByTestId('freshness')).toHaveText('no data');
  await expect(page.getByTestId('no-windows')).toBeVisible();

  await page.goto(ui(`/${project()}/views/nope`));
  await expect(page.getByRole('alert')).toHaveText(`Feature view nope does not exist in project ${project()}.`);
});

test('the on-demand view is listed and marked as not executable by kiln', async ({ page }) => {
  const odfv = server.seeded.on_demand_view;
  await page.goto(ui(`/${project()}`));
  const row = page.getByTestId('odfvs').locator(`[data-view="${odfv}"]`);
  await expect(row.getByRole('cell')).toHaveText([odfv, 'view driver_hourly_stats, request trip_request', 'cost Float64', 'not executable by kiln']);
  await row.getByRole('link', { name: odfv }).click();
  await expect(page.getByTestId('not-executable')).toContainText('Not executable by kiln');
  await expect(page.getByTestId('view-freshness').getByTestId('freshness')).toHaveText('computed on request');
});

test('entities, data sources, feature services and lineage from source to service', async ({ page }) => {
  await page.goto(ui(`/${project()}`));
  const entities = page.getByTestId('entity-row');
  await expect(entities).toHaveCount(2);
  await expect(entities.nth(0).getByRole('cell')).toHaveText(['customer', 'customer_id', 'STRING', 'A paying customer']);
  await expect(entities.nth(1).getByRole('cell')).toHaveText(['driver', 'driver_id', 'INT64', 'A driver of the fleet']);
  const source = page.getByTestId('source-row').filter({ hasText: 'driver_stats_source' });
  await expect(source.getByRole('cell').nth(1)).toHaveText('file');
  await expect(source.getByRole('cell').nth(2)).toContainText('driver_stats.parquet');
  await expect(source.getByRole('cell').nth(3)).toHaveText('event_timestamp');
  await expect(page.getByTestId('source-row').filter({ hasText: 'trip_request' }).getByRole('cell').nth(1)).toHaveText('request');

  const svc = page.getByTestId('services').locator('[data-service="driver_activity"]');
  await expect(svc.getByTestId('service-view')).toHaveText([
    'driver_hourly_stats: conv_rate, avg_daily_trips',
    'customer_profile: name, age, score',
  ]);
  await expect(svc.getByRole('cell').nth(2)).toHaveText('none'); // no endpoint reads it

  const lineage = (await page.getByTestId('lineage-row').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
  expect(lineage).toEqual(
    expect.arrayContaining([
      'driver_stats_source → driver_hourly_stats → driver_activity → none',
      'customer_source → customer_profile → driver_activity → none',
      'trips_source → trip_stats → trip_service → none',
      'trip_request → trip_cost → trip_service → none',
      'view driver_hourly_stats → trip_cost → trip_service → none',
      'backfill_source → backfill_stats → no service → none',
    ]),
  );
});

test('materialization history: the seeded job with its state, window and row count', async ({ page }) => {
  const { fresh_view, job_rows, job_id } = server.seeded;
  await page.goto(ui(`/${project()}`));
  const row = page.locator(`[data-testid=job-row][data-job="${job_id}"]`);
  await expect(row.getByTestId('job-state')).toHaveText('succeeded');
  await expect(row.getByTestId('job-rows')).toHaveText(`${job_rows} of ${job_rows} rows`);
  await expect(row.getByRole('cell').nth(1)).toContainText(fresh_view);
  await expect(row.getByRole('cell').nth(1)).toContainText(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC → \d{4}-/);
  await expect(row.getByRole('cell').nth(5)).toHaveText(/UTC$/);
});

test('no axe-core violations on the feature pages', async ({ page }) => {
  const { fresh_view, on_demand_view } = server.seeded;
  for (const p of ['', `/${project()}`, `/${project()}/views/${fresh_view}`, `/${project()}/views/${on_demand_view}`]) {
    await page.goto(ui(p));
    await expect(page.locator('main h1')).toBeVisible();
    await expect(page.getByText('Loading…')).toHaveCount(0);
    expect(await axe(page), p).toEqual([]);
  }
});

test('the project page looks like the committed baseline', async ({ page }) => {
  await page.goto(ui(`/${project()}`));
  await expect(page.getByTestId('job-row')).toHaveCount(1);
  await expect(page.getByTestId('lineage-row').first()).toBeVisible();
  await expect(page.getByTestId('services').getByText('none').first()).toBeVisible(); // endpoints answered
  await expect(page).toHaveScreenshot('features-project.png', { fullPage: true, mask: masks(page) });
  if (process.env.KILN_UI_DOCS) {
    await page.screenshot({ path: path.join(repo, 'docs/ui/features.png'), fullPage: true });
  }
});

test('a running materialization shows its progress and updates until it finishes', async ({ page, request }) => {
  test.setTimeout(180_000);
  const { backfill_view, backfill_rows } = server.seeded;
  const end = new Date();
  const start = new Date(end.getTime() - 86400_000);
  const started = await request.post(`${server.url}/materialize?async=true`, {
    data: { project: project(), feature_views: [backfill_view], start_ts: start.toISOString(), end_ts: end.toISOString() },
  });
  expect(started.status()).toBe(202);
  await page.goto(ui(`/${project()}`));
  const row = page.getByTestId('job-row').first(); // newest first
  await expect(row.getByRole('cell').nth(1)).toContainText(backfill_view);
  await expect(row.getByTestId('job-state')).toHaveText('running');
  await expect(row.locator('progress')).toBeVisible();
  // Sample the row count the page shows while it runs. How many different
  // counts a 1 s poll catches depends on the machine's speed (on a quiet one
  // the rows are written between two polls), so what is asserted is that
  // every count shown is a well-formed "done of total" with done <= total,
  // and that the page, never reloaded, goes from running to the final count
  // by its own polling.
  const seen = new Set();
  const total = backfill_rows.toLocaleString('en-US');
  while ((await row.getByTestId('job-state').textContent()) === 'running') {
    seen.add(await row.getByTestId('job-rows').textContent());
    await page.waitForTimeout(200);
  }
  await expect(row.getByTestId('job-state')).toHaveText('succeeded');
  await expect(row.getByTestId('job-rows')).toHaveText(`${total} of ${total} rows`);
  console.log(`backfill of ${backfill_rows} rows: the page showed ${seen.size} row counts while it ran: ${[...seen].join(' | ')}`);
  expect(seen.size).toBeGreaterThan(0);
  for (const text of seen) {
    const m = /^([\d,]+) of ([\d,]+) rows$/.exec(text);
    expect(m, `progress text ${JSON.stringify(text)}`).not.toBeNull();
    const [done, all] = [Number(m[1].replace(/,/g, '')), Number(m[2].replace(/,/g, ''))];
    expect(done).toBeLessThanOrEqual(all);
    if (all > 0) expect(all).toBe(backfill_rows);
  }
  // Finishing reloads the project: the view is fresh now.
  await expect(viewRow(page, backfill_view).getByTestId('freshness')).toHaveText('fresh');
});
