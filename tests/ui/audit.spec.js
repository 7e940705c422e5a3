// The Audit and Health pages against a kiln of this file's own (--auth,
// seeded by seed_auth.py through the mlflow client): the audit log filtered
// on the server and compared with the API's own answer, record details, the
// verifier's verdict (also after the log is tampered with), and every
// component's health.
import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { serverFor, axe, python, repo } from './kiln.js';

const ADMIN_PASSWORD = 'ui-audit-admin-password';
const server = serverFor(test, {
  args: ['--auth', '--default-role', 'none'],
  env: { KILN_ADMIN_PASSWORD: ADMIN_PASSWORD },
  seed: 'seed_auth.py',
});

const basic = (user, pw) => 'Basic ' + Buffer.from(`${user}:${pw}`).toString('base64');
const pw = (user) => (user === 'admin' ? ADMIN_PASSWORD : server.seeded.users[user]);

async function api(request, path, { user = 'admin', params } = {}) {
  const res = await request.get(server.url + path, { headers: { Authorization: basic(user, pw(user)) }, params });
  return { status: res.status(), body: await res.json() };
}

// Signs the page in as `user` the way the sign-in page leaves it: a Bearer
// token of the tab (minted here through the API, so no form is filled).
const tokens = {};
async function signedIn(page, request, user) {
  if (!tokens[user]) {
    const res = await request.post(`${server.url}/api/v1/tokens`, {
      headers: { Authorization: basic(user, pw(user)) },
      data: { name: `audit-spec-${user}`, expires_in_s: 3600 },
    });
    expect(res.status()).toBe(201);
    tokens[user] = (await res.json()).secret;
  }
  await page.addInitScript((t) => sessionStorage.setItem('kiln.auth', `Bearer ${t}`), tokens[user]);
}

const col = (page, name) => page.getByTestId('audit-row').locator(`[data-col=${name}]`);
const seqs = async (page) => (await col(page, 'seq').allTextContents()).map(Number);

test('the audit log, newest first, filtered by actor, decision and action on the server', async ({ page, request }) => {
  await signedIn(page, request, 'admin');
  await page.goto(`${server.url}/ui/audit`);
  await expect(page.getByTestId('audit-row').first()).toBeVisible();
  const all = await api(request, '/api/v1/audit', { params: { order: 'desc', max_results: 50 } });
  expect(await seqs(page)).toEqual(all.body.records.map((r) => r.seq));
  const shown = await seqs(page);
  expect([...shown].sort((a, b) => b - a)).toEqual(shown);

  // victor's refused writes: only his denied records.
  await page.getByLabel('Actor').fill('victor');
  await page.getByLabel('Decision').selectOption('deny');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/actor=victor/);
  const denied = await api(request, '/api/v1/audit', { params: { order: 'desc', actor: 'victor', decision: 'deny' } });
  expect(denied.body.records.length).toBeGreaterThanOrEqual(1);
  await expect(page.getByTestId('audit-row')).toHaveCount(denied.body.records.length);
  expect(await seqs(page)).toEqual(denied.body.records.map((r) => r.seq));
  expect(new Set(await col(page, 'actor').allTextContents())).toEqual(new Set(['victor']));
  expect(new Set(await col(page, 'decision').allTextContents())).toEqual(new Set(['deny']));
  expect((await col(page, 'action').allTextContents()).some((a) => a.includes('log-metric'))).toBe(true);

  // An action prefix: the two users created by the seed (request and response records).
  await page.getByRole('button', { name: 'Clear' }).click();
  await expect(page).toHaveURL(`${server.url}/ui/audit`);
  await page.getByLabel('Action (prefix)').fill('auth.users.');
  await page.getByRole('button', { name: 'Apply' }).click();
  const users = await api(request, '/api/v1/audit', { params: { order: 'desc', action: 'auth.users.' } });
  await expect(page.getByTestId('audit-row')).toHaveCount(users.body.records.length);
  expect(users.body.records.length).toBe(4);
  expect(await seqs(page)).toEqual(users.body.records.map((r) => r.seq));
  expect(new Set(await col(page, 'action').allTextContents())).toEqual(new Set(['auth.users.create']));

  // A time range after every record matches nothing (the server says so, the page too).
  await page.getByLabel('From (UTC)').fill('2099-01-01T00:00');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByTestId('audit-row')).toHaveCount(0);
  await expect(page.getByTestId('audit-count')).toContainText('0 records');
});

test('a record\'s details: audit id, the grant that matched, the state after', async ({ page, request }) => {
  await signedIn(page, request, 'admin');
  const res = await api(request, '/api/v1/audit', { params: { order: 'desc', action: 'auth.users.create' } });
  const request_record = res.body.records.find((r) => r.stage === 'request');
  const response_record = res.body.records.find((r) => r.stage === 'response' && r.after);
  await page.goto(`${server.url}/ui/audit?action=auth.users.create`);
  await expect(page.getByTestId('audit-row')).toHaveCount(res.body.records.length);
  await page.getByRole('button', { name: `Details of record ${request_record.seq}`, exact: true }).click();
  const details = page.getByTestId('audit-details');
  await expect(details.locator('[data-field=audit_id]')).toHaveText(request_record.audit_id);
  await expect(details.locator('[data-field=reason]')).toHaveText(request_record.reason);
  await expect(details.locator('[data-field=hash]')).toHaveText(request_record.hash);
  await expect(details.getByRole('heading', { name: 'Request' })).toBeVisible();
  expect(await axe(page)).toEqual([]);
  await page.getByRole('button', { name: `Hide details of record ${request_record.seq}`, exact: true }).click();
  await expect(details).toHaveCount(0);
  // The outcome record carries the user as created.
  expect(response_record).toBeTruthy();
  await page.getByRole('button', { name: `Details of record ${response_record.seq}`, exact: true }).click();
  await expect(page.getByTestId('audit-details').getByRole('heading', { name: 'After' })).toBeVisible();
  await expect(page.getByTestId('audit-details')).toContainText('"name": "');
});

test('pages of 50, older and newer', async ({ page, request }) => {
  await signedIn(page, request, 'admin');
  const first = await api(request, '/api/v1/audit', { params: { order: 'desc', max_results: 50 } });
  expect(first.body.next_page_token).toBeTruthy();
  const second = await api(request, '/api/v1/audit', {
    params: { order: 'desc', max_results: 50, page_token: first.body.next_page_token },
  });
  await page.goto(`${server.url}/ui/audit`);
  await expect(page.getByTestId('audit-row')).toHaveCount(50);
  await page.getByRole('button', { name: 'Older →' }).click();
  await expect(page.getByTestId('audit-count')).toContainText('Page 2');
  expect(await seqs(page)).toEqual(second.body.records.map((r) => r.seq));
  await page.getByRole('button', { name: '← Newer' }).click();
  await expect(page.getByTestId('audit-count')).toContainText('Page 1');
  expect(await seqs(page)).toEqual(first.body.records.map((r) => r.seq));
});

test('the verifier\'s verdict is shown: intact up to the last record', async ({ page, request }) => {
  await signedIn(page, request, 'admin');
  await page.goto(`${server.url}/ui/audit`);
  await expect(page.getByTestId('verify-status')).toContainText('Verified');
  const v = await api(request, '/api/v1/audit/verify');
  expect(v.body.ok).toBe(true);
  await expect(page.getByTestId('verify-last')).toHaveText(String(v.body.last_seq));
  await expect(page.getByTestId('verify-summary')).toHaveText(v.body.summary);
  expect(await axe(page)).toEqual([]);
  await page.goto(`${server.url}/ui/audit?actor=carol&action=mlflow.experiments.`);
  await expect(page.getByTestId('audit-row')).toHaveCount(4);
  // KILN_UI_DOCS=1: the picture of this page in docs/ui.md.
  if (process.env.KILN_UI_DOCS) await page.screenshot({ path: path.join(repo, 'docs/ui/audit.png') });
  // The verdict's text is the run's own and wraps to 3 or 4 lines: its box
  // gets one fixed height for the picture (it is masked anyway).
  await page.getByTestId('verify').evaluate((el) => {
    Object.assign(el.style, { boxSizing: 'border-box', height: '100px', overflow: 'hidden' });
  });
  await expect(page).toHaveScreenshot('audit-log.png', {
    // The main navigation grows with other pages; the times, seqs and verdict counts are the run's own.
    mask: [page.locator('header.top nav'), col(page, 'time'), col(page, 'seq'), page.getByTestId('verify')],
  });
});

test('a viewer is refused the audit log and the component health with the server\'s message', async ({ page, request }) => {
  await signedIn(page, request, 'victor');
  const refused = await api(request, '/api/v1/audit', { user: 'victor' });
  expect(refused.status).toBe(403);
  await page.goto(`${server.url}/ui/audit`);
  await expect(page.getByTestId('audit-error')).toHaveText(refused.body.message);
  const health = await api(request, '/api/v1/health/components', { user: 'victor' });
  expect(health.status).toBe(403);
  await page.goto(`${server.url}/ui/health`);
  await expect(page.getByTestId('components-error')).toContainText(health.body.message);
  // The public readiness verdict is still shown.
  await expect(page.getByTestId('probe')).toContainText('HTTP 200');
});

test('the health page lists every store and service with its status and check time', async ({ page, request }) => {
  await signedIn(page, request, 'admin');
  await page.goto(`${server.url}/ui/health`);
  const rows = page.getByTestId('component');
  const api_answer = await api(request, '/api/v1/health/components');
  expect(api_answer.body.status).toBe('ok');
  await expect(rows).toHaveCount(api_answer.body.components.length);
  const names = await rows.evaluateAll((els) => els.map((e) => e.dataset.name));
  expect(names).toEqual([
    'metadata_store', 'artifact_store', 'online_store', 'audit_log', 'model_repository', 'endpoint_models',
    'change_feed', 'tracking', 'registry', 'serving', 'features', 'platform',
  ]);
  for (const n of ['metadata_store', 'artifact_store', 'online_store', 'audit_log', 'tracking', 'features']) {
    await expect(page.locator(`[data-name=${n}]`).getByTestId('status')).toHaveText('ok');
    await expect(page.locator(`[data-name=${n}]`).getByTestId('latency')).toHaveText(/^\d+\.\d ms$/);
  }
  // Not configured in this server: said so, not counted as failing.
  await expect(page.locator('[data-name=model_repository]').getByTestId('status')).toHaveText('off');
  await expect(page.locator('[data-name=model_repository]')).toContainText('no --model-repository');
  await expect(page.locator('[data-name=change_feed]').getByTestId('status')).toHaveText('off');
  // The endpoint's revisions' models, as the server counts them (two revisions: v1 and the v2 canary).
  const ep = api_answer.body.components.find((c) => c.name === 'endpoint_models');
  expect(ep.detail.models.length).toBeGreaterThanOrEqual(2);
  await expect(page.locator('[data-name=endpoint_models]')).toContainText(
    `${ep.detail.ready} of ${ep.detail.models.length} models ready`,
  );
  await expect(page.getByTestId('overall')).toContainText('ok');
  await expect(page.getByTestId('probe')).toContainText('healthy');
  expect(await axe(page)).toEqual([]);
  // KILN_UI_DOCS=1: the picture of this page in docs/ui.md.
  if (process.env.KILN_UI_DOCS) await page.screenshot({ path: path.join(repo, 'docs/ui/health.png') });
  await expect(page).toHaveScreenshot('health-components.png', {
    mask: [
      page.locator('header.top nav'),
      page.getByTestId('latency'),
      page.getByTestId('checked-at'),
      page.locator('[data-name=audit_log] .detail'),
      page.locator('[data-name=metadata_store] .detail'), // the temporary data directory
      page.getByTestId('probe'),
    ],
  });
});

// Last: it edits the audit log, which every later verification would report.
test('a tampered record is named by the verdict', async ({ page, request }) => {
  await signedIn(page, request, 'admin');
  const target = (await api(request, '/api/v1/audit', { params: { action: 'auth.users.create', max_results: 1 } })).body.records[0];
  execFileSync(python, [
    '-c',
    'import sqlite3, sys\n' +
      'db = sqlite3.connect(sys.argv[1], timeout=30)\n' +
      'db.execute("UPDATE record_json SET json = replace(json, \'auth.users.create\', \'auth.users.delete\') WHERE seq = ?", (int(sys.argv[2]),))\n' +
      'db.commit()\n',
    path.join(server.dataDir, 'audit.db'),
    String(target.seq),
  ]);
  const v = await api(request, '/api/v1/audit/verify');
  expect(v.body.ok).toBe(false);
  expect(v.body.bad_seq).toBe(target.seq);
  await page.goto(`${server.url}/ui/audit`);
  await expect(page.getByTestId('verify-status')).toContainText('Verification failed');
  await expect(page.getByTestId('verify-bad')).toHaveText(String(target.seq));
  await expect(page.getByTestId('verify-status')).toContainText(v.body.message);
});
