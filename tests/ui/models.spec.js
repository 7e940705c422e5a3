// Models and Endpoints pages against a kiln of this file's own, started with
// --auth (the UI sends the signed-in user's credentials; every mutation is
// audited under that user) and seeded by seed_models.py through the real
// mlflow client and the platform API over HTTP: model "fraud-detector" v1
// and v2, endpoint "fraud" serving v1 with v2 as a 20 % canary (one-day
// bake, so it stays pending), predictions through both revisions.
//
// The tests run in order on one server; the rollback test changes the
// endpoint and therefore comes last.
import { test, expect } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { serverFor, axe, repo } from './kiln.js';

const PASSWORD = 'kiln-ui-models-admin-secret';
const AUTH = 'Basic ' + Buffer.from(`admin:${PASSWORD}`).toString('base64');
const server = serverFor(test, {
  args: ['--auth'],
  env: { KILN_ADMIN_PASSWORD: PASSWORD },
  seed: 'seed_models.py',
  seedTimeout: 300_000,
});
// A busy CI machine (load 20+ on 2 cores here) slows every step; the waits
// below are for the page to reflect a server answer, not performance budgets.
test.describe.configure({ mode: 'serial', timeout: 120_000 });
const SLOW = { timeout: 20_000 };

const MODEL = 'fraud-detector';
const ENDPOINT = 'fraud';
const REASON = 'canary raises false positives';

test.beforeEach(async ({ page }) => {
  await page.addInitScript((v) => sessionStorage.setItem('kiln.auth', v), AUTH);
});

async function api(request, method, p, body) {
  const res = await request.fetch(server.url + p, {
    method,
    headers: { Authorization: AUTH, 'Content-Type': 'application/json' },
    data: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.status(), `${method} ${p}: ${await res.text()}`).toBe(200);
  return res.json();
}

const endpointStatus = async (request) => (await api(request, 'GET', `/api/v1/endpoints/${ENDPOINT}`)).status;

async function predict(request, n) {
  const cols = server.seeded.columns;
  const inputs = Object.fromEntries(cols.map((c, i) => [c, [0.1 * i, -0.2, 0.3]]));
  for (let i = 0; i < n; i++) await api(request, 'POST', `/api/v1/endpoints/${ENDPOINT}/predict`, { inputs });
}

// The figures the UI formats, from the API's numbers (components/platform.js).
const rate = (r) => `${(r * 100).toFixed(r === 0 ? 0 : 2)} %`;
const ms = (v) => `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;

async function shownTraffic(page) {
  const rows = page.getByTestId('traffic-row');
  const out = [];
  for (let i = 0; i < (await rows.count()); i++) {
    const row = rows.nth(i);
    out.push({
      revision: Number(await row.getAttribute('data-revision')),
      model: (await row.getByRole('link').textContent()).trim(),
      percent: (await row.getByTestId('traffic-percent').textContent()).trim(),
      requests: (await row.getByTestId('traffic-requests').textContent()).trim(),
      errors: (await row.getByTestId('traffic-errors').textContent()).trim(),
      p99: (await row.getByTestId('traffic-p99').textContent()).trim(),
    });
  }
  return out;
}

function expectedTraffic(status) {
  return status.traffic.map((t) => ({
    revision: t.revision,
    model: `${t.model} v${t.version}`,
    percent: `${t.percent} %`,
    requests: String(t.requests_1m),
    errors: t.requests_1m ? rate(t.error_rate_1m) : 'no requests',
    p99: t.requests_1m ? ms(t.p99_ms_1m) : 'no requests',
  }));
}

test('model list pages through the registry, filters by name on the server and links to a model', async ({ page }) => {
  await page.goto(`${server.url}/ui/models`);
  const rows = page.getByTestId('model-row');
  await expect(rows).toHaveCount(25);
  await expect(rows.nth(0).getByRole('link')).toHaveText('churn-scorer');
  await expect(rows.nth(1).getByRole('link')).toHaveText(MODEL);
  await expect(rows.nth(1)).toContainText('v2');
  await expect(rows.nth(1)).toContainText('@champion → v1');
  await expect(rows.nth(1)).toContainText('@challenger → v2');
  await expect(rows.nth(2)).toContainText('no versions');
  await expect(page.getByRole('button', { name: 'Previous page' })).toBeDisabled();

  await page.getByRole('button', { name: 'Next page' }).click();
  await expect(page.getByTestId('model-page')).toHaveText('Page 2');
  // 2 models with versions + 28 sandbox models = 30: 5 on the second page.
  await expect(rows).toHaveCount(5);
  await expect(rows.last().getByRole('link')).toHaveText('sandbox-27');
  await expect(page.getByRole('button', { name: 'Next page' })).toBeDisabled();
  await page.getByRole('button', { name: 'Previous page' }).click();
  await expect(rows).toHaveCount(25);

  await page.getByLabel('Name contains').fill('FRAUD');
  await page.getByLabel('Name contains').press('Enter');
  await expect(rows).toHaveCount(1);
  await page.getByLabel('Name contains').fill('no-such-model');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(rows).toHaveCount(0);
  await expect(page.getByText('No registered model matches.')).toBeVisible();
  await page.getByLabel('Name contains').fill('fraud');
  await page.getByRole('button', { name: 'Filter' }).click();
  await rows.first().getByRole('link', { name: MODEL }).click();
  await expect(page).toHaveURL(`${server.url}/ui/models/${MODEL}`);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(MODEL);
});

test('model page: versions, stage, aliases, tags, source runs and lineage run → version → endpoint revisions', async ({
  page,
  request,
}) => {
  const { runs } = server.seeded;
  await page.goto(`${server.url}/ui/models/${MODEL}`);
  await expect(page.getByTestId('model-description')).toHaveText('Scores card transactions for fraud.');
  await expect(page.getByText('team=risk')).toBeVisible();
  const versions = page.getByTestId('version-row');
  await expect(versions).toHaveCount(2);
  const v2 = versions.nth(0);
  const v1 = versions.nth(1);
  await expect(v2.getByRole('rowheader')).toHaveText('v2');
  await expect(v2.getByRole('cell').nth(0)).toHaveText('None');
  await expect(v2.getByRole('cell').nth(1)).toHaveText('READY');
  await expect(v2.getByRole('cell').nth(2)).toHaveText('@challenger');
  await expect(v2.getByRole('link')).toHaveAttribute('href', `/ui/runs/${runs['2']}`);
  await expect(v2.getByRole('cell').nth(4)).toHaveText('xgboost');
  await expect(v2).toContainText('validated=true');
  await expect(v1.getByRole('cell').nth(0)).toHaveText('Production');
  await expect(v1.getByRole('cell').nth(2)).toHaveText('@champion');
  await expect(v1.getByRole('link')).toHaveAttribute('href', `/ui/runs/${runs['1']}`);

  // Lineage: what the UI shows for each version is what the platform API says.
  const st = await endpointStatus(request);
  const share = (rev) => st.traffic.filter((t) => t.revision === rev).reduce((a, t) => a + t.percent, 0);
  expect(share(1)).toBe(80);
  expect(share(2)).toBe(20);
  const lineage = page.getByTestId('lineage-row');
  await expect(lineage).toHaveCount(2);
  await expect(lineage.nth(0).getByRole('link').first()).toHaveAttribute('href', `/ui/runs/${runs['2']}`);
  await expect(lineage.nth(0).getByRole('listitem')).toHaveText([`${ENDPOINT} revision 2 live ${share(2)} %`]);
  await expect(lineage.nth(1).getByRole('listitem')).toHaveText([`${ENDPOINT} revision 1 live ${share(1)} %`]);
  await lineage.nth(0).getByRole('link', { name: `${ENDPOINT} revision 2` }).click();
  await expect(page).toHaveURL(`${server.url}/ui/endpoints/${ENDPOINT}`);
  await expect(page.getByTestId('traffic-row')).toHaveCount(2);

  // An alias link on the model page points at its version's row.
  await page.goto(`${server.url}/ui/models/${MODEL}`);
  await expect(page.getByTestId('model-aliases').getByRole('link', { name: 'v1' })).toHaveAttribute(
    'href',
    `/ui/models/${MODEL}#version-1`,
  );
});

test('endpoint list and the endpoint page show the traffic split and rollout progress the API reports', async ({
  page,
  request,
}) => {
  const st = await endpointStatus(request);
  expect(st.pending).toBe(true);
  await page.goto(`${server.url}/ui/endpoints`);
  const row = page.getByTestId('endpoint-row').filter({ hasText: ENDPOINT });
  await expect(row).toContainText(st.revision_traffic.map((s) => `revision ${s.revision}: ${s.percent} %`).join(', '));
  await expect(row).toContainText(`revision 1 → 2 at 20 % (baking)`);
  await row.getByRole('link', { name: ENDPOINT }).click();
  await expect(page).toHaveURL(`${server.url}/ui/endpoints/${ENDPOINT}`);

  const traffic = page.getByTestId('traffic-row');
  await expect(traffic).toHaveCount(st.traffic.length);
  const shown = await shownTraffic(page);
  expect(shown.map((r) => [r.revision, r.model, r.percent])).toEqual(
    st.traffic.map((t) => [t.revision, `${t.model} v${t.version}`, `${t.percent} %`]),
  );
  expect(shown.map((r) => r.percent)).toEqual(['80 %', '20 %']);
  await expect(traffic.nth(0)).toContainText('ready');

  await expect(page.getByTestId('rollout-percent')).toHaveText('20 %');
  await expect(page.locator('#rollout-progress')).toHaveAttribute('value', '20');
  await expect(page.getByTestId('rollout')).toContainText('Revision 2 is rolling out from revision 1 (canary, steps of 20 %)');
  await expect(page.getByTestId('rollout-next')).toContainText('revision 2 is rolled out (100 %) when the bake ends');
  const nextIso = new Date(st.rollout.next_step_ms).toISOString().replace('T', ' ').slice(0, 19);
  await expect(page.getByTestId('rollout-next')).toContainText(nextIso);

  const revisions = page.getByTestId('revision-row');
  await expect(revisions).toHaveCount(2);
  await expect(revisions.nth(0).getByTestId('revision-state')).toHaveText('live 20 %, rolling out');
  await expect(revisions.nth(1).getByTestId('revision-state')).toHaveText('live 80 %, rolled out');
  await expect(revisions.nth(0)).toContainText('canary 20 %, bake 86400 s');

  // Events, newest first: who, when (masked in screenshots), why.
  const events = (await api(request, 'GET', `/api/v1/endpoints/${ENDPOINT}/events`)).events;
  const eventRows = page.getByTestId('event-row');
  await expect(eventRows).toHaveCount(events.length);
  const newest = events[events.length - 1];
  await expect(eventRows.first().getByRole('cell').nth(1)).toHaveText(newest.action);
  await expect(eventRows.first().getByRole('cell').nth(2)).toHaveText('admin');
});

test('per-revision requests, error rate and p99 shown are the server’s figures', async ({ page, request }) => {
  await predict(request, 60);
  await page.goto(`${server.url}/ui/endpoints/${ENDPOINT}`);
  await expect(page.getByTestId('traffic-row')).toHaveCount(2);
  // The last-minute window slides, so compare a fresh page with a fresh API read.
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId('traffic-row')).toHaveCount(2);
    const shown = await shownTraffic(page);
    const st = await endpointStatus(request);
    expect(shown).toEqual(expectedTraffic(st));
    for (const t of st.traffic) expect(t.requests_1m).toBeGreaterThan(0);
  }).toPass({ timeout: 30_000 });
  const shown = await shownTraffic(page);
  for (const r of shown) {
    expect(r.errors).toBe('0 %');
    expect(r.p99).toMatch(/^\d+(\.\d+)? ms$/);
  }
});

test('keyboard: list → model → endpoint by Tab and Enter', async ({ page }) => {
  await page.goto(`${server.url}/ui/models`);
  await expect(page.getByTestId('model-row')).toHaveCount(25);
  async function tabTo(name, limit = 60) {
    for (let i = 0; i < limit; i++) {
      await page.keyboard.press('Tab');
      const text = await page.evaluate(() => document.activeElement?.textContent?.trim());
      if (text === name) return;
    }
    throw new Error(`${name} not reached by Tab`);
  }
  await tabTo(MODEL);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(`${server.url}/ui/models/${MODEL}`);
  await expect(page.getByTestId('lineage-row')).toHaveCount(2);
  await tabTo(`${ENDPOINT} revision 2`);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(`${server.url}/ui/endpoints/${ENDPOINT}`);
  await expect(page.getByTestId('traffic-row')).toHaveCount(2);
});

test('no axe-core violations on the models and endpoints pages and the rollback dialog', async ({ page }) => {
  for (const p of ['/ui/models', `/ui/models/${MODEL}`, '/ui/endpoints']) {
    await page.goto(server.url + p);
    await expect(page.locator('table.list').first()).toBeVisible();
    await expect(page.getByText('Loading', { exact: false })).toHaveCount(0);
    expect(await axe(page), p).toEqual([]);
  }
  await page.goto(`${server.url}/ui/endpoints/${ENDPOINT}`);
  await expect(page.getByTestId('traffic-row')).toHaveCount(2);
  expect(await axe(page)).toEqual([]);
  await page.getByRole('button', { name: 'Roll back…' }).click();
  await expect(page.getByRole('dialog')).toBeVisible();
  expect(await axe(page)).toEqual([]);
  await page.keyboard.press('Escape');
  await expect(page.getByRole('dialog')).toBeHidden();
});

test('models and endpoints pages look like the committed baselines', async ({ page }) => {
  const docs = process.env.KILN_UI_DOCS ? path.join(repo, 'docs/ui') : '';
  if (docs) mkdirSync(docs, { recursive: true });
  const masks = (p) => [p.locator('.time'), p.locator('.mono'), p.locator('.detail')];

  await page.goto(`${server.url}/ui/models`);
  await expect(page.getByTestId('model-row')).toHaveCount(25);
  await expect(page).toHaveScreenshot('models-list.png', { mask: masks(page) });

  await page.goto(`${server.url}/ui/models/${MODEL}`);
  await expect(page.getByTestId('version-row').first()).toContainText('xgboost');
  await expect(page.getByTestId('version-row').nth(1)).toContainText('xgboost');
  await expect(page.getByTestId('lineage-row')).toHaveCount(2);
  await expect(page).toHaveScreenshot('models-model.png', { mask: masks(page), fullPage: true });
  if (docs) await page.screenshot({ path: path.join(docs, 'models.png'), fullPage: true });

  await page.goto(`${server.url}/ui/endpoints`);
  await expect(page.getByTestId('endpoint-row')).toHaveCount(1);
  await expect(page).toHaveScreenshot('endpoints-list.png', { mask: masks(page) });

  await page.goto(`${server.url}/ui/endpoints/${ENDPOINT}`);
  await expect(page.getByTestId('traffic-row')).toHaveCount(2);
  const numbers = [page.getByTestId('traffic-requests'), page.getByTestId('traffic-p99'), page.getByTestId('traffic-errors')];
  await expect(page).toHaveScreenshot('endpoints-endpoint.png', { mask: [...masks(page), ...numbers], fullPage: true });
  if (docs) await page.screenshot({ path: path.join(docs, 'endpoint.png'), fullPage: true });
});

test('rollback: Cancel and Escape change nothing; confirming rolls back, shows the new state and is audited', async ({
  page,
  request,
}) => {
  const before = await endpointStatus(request);
  const eventsBefore = (await api(request, 'GET', `/api/v1/endpoints/${ENDPOINT}/events`)).events.length;
  expect(before.pending).toBe(true);
  await page.goto(`${server.url}/ui/endpoints/${ENDPOINT}`);
  await expect(page.getByTestId('traffic-row')).toHaveCount(2);
  const open = page.getByRole('button', { name: 'Roll back…' });
  const dialog = page.getByRole('dialog', { name: `Roll back ${ENDPOINT}?` });

  // Cancel.
  await open.click();
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('stops the rollout of revision 2 and sends all traffic to revision 1');
  await expect(dialog.getByLabel('Reason')).toBeFocused();
  // Focus stays in the dialog: Tab cycles reason → Cancel → confirm → reason.
  await page.keyboard.press('Tab');
  await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(dialog.getByRole('button', { name: 'Roll back to revision 1' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(dialog.getByLabel('Reason')).toBeFocused();
  await page.keyboard.press('Shift+Tab');
  await expect(dialog.getByRole('button', { name: 'Roll back to revision 1' })).toBeFocused();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(open).toBeFocused();

  // Escape, opened from the keyboard.
  await page.keyboard.press('Enter');
  await expect(dialog).toBeVisible();
  await dialog.getByLabel('Reason').fill('not this time');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();

  const unchanged = await endpointStatus(request);
  expect(unchanged.pending).toBe(true);
  expect(unchanged.revision_traffic).toEqual(before.revision_traffic);
  expect((await api(request, 'GET', `/api/v1/endpoints/${ENDPOINT}/events`)).events.length).toBe(eventsBefore);
  // Audit actions: platform.endpoints.rollback (the request, by the gate) and
  // platform.endpoint.rollback (the endpoint's event): none yet.
  const audit = async (q) => (await api(request, 'GET', `/api/v1/audit?${q}`)).records || [];
  expect(await audit('action=platform.endpoints.rollback')).toEqual([]);
  expect(await audit('action=platform.endpoint.rollback')).toEqual([]);

  // Confirm, by keyboard: the reason, then Enter submits.
  await open.focus();
  await page.keyboard.press('Enter');
  await expect(dialog).toBeVisible();
  await page.keyboard.type(REASON);
  await page.keyboard.press('Enter');
  await expect(dialog).toBeHidden(SLOW);
  const outcome = page.getByTestId('rollback-outcome');
  await expect(outcome).toContainText('Rolled back to revision 1; traffic now: revision 1 100 %.', SLOW);
  await expect(page.getByTestId('traffic-row')).toHaveCount(1, SLOW);
  expect((await shownTraffic(page)).map((r) => [r.revision, r.percent])).toEqual([[1, '100 %']]);
  await expect(page.getByTestId('rollout')).toContainText('No rollout in progress: revision 1 is rolled out.');
  const newest = page.getByTestId('event-row').first().getByRole('cell');
  await expect(newest.nth(1)).toHaveText('rollback', SLOW);
  await expect(newest.nth(2)).toHaveText('admin');
  await expect(newest.nth(3)).toHaveText(REASON);

  const after = await endpointStatus(request);
  expect(after.pending).toBe(false);
  expect(after.revision_traffic).toEqual([{ revision: 1, percent: 100 }]);
  // Revision 1 was the first rolled out: nothing earlier to return to, so the
  // button is off (and says why) rather than offering a rollback the server refuses.
  expect(after.previous_rolled_out_revision).toBe(0);
  await expect(open).toBeDisabled();
  await expect(open).toHaveAttribute('title', 'There is no earlier revision to return to');

  // The audit log holds the request under the signed-in user, with the reason,
  // and the id the UI showed is that record's.
  const auditId = (await outcome.textContent()).match(/Audit record (\S+)\./)[1];
  const byId = await audit(`audit_id=${encodeURIComponent(auditId)}`);
  const req = byId.find((r) => r.stage === 'request');
  expect(req, JSON.stringify(byId)).toBeTruthy();
  expect(req.actor).toBe('admin');
  expect(req.action).toBe('platform.endpoints.rollback');
  expect(req.path).toBe(`/api/v1/endpoints/${ENDPOINT}:rollback`);
  expect(JSON.stringify(req.request)).toContain(REASON);
  await expect
    .poll(async () => {
      const recs = await audit('action=platform.endpoint.rollback');
      return recs.some((r) => r.actor === 'admin' && JSON.stringify(r).includes(REASON));
    }, SLOW)
    .toBe(true);
});
