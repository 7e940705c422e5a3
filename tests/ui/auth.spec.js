// Sign-in with auth on (issue 15 item 6): a kiln of this file's own started
// with --auth --default-role none, seeded by seed_auth.py through the mlflow
// client (users carol and victor, experiments per user, an endpoint victor
// may only look at). The UI's API calls get 401 until someone signs in; the
// UI then holds one Bearer token minted from the password, and sees what its
// user may see, nothing more.
import { test, expect } from '@playwright/test';
import path from 'node:path';
import { serverFor, axe, repo } from './kiln.js';

const ADMIN_PASSWORD = 'ui-auth-admin-password';
const server = serverFor(test, {
  args: ['--auth', '--default-role', 'none'],
  env: { KILN_ADMIN_PASSWORD: ADMIN_PASSWORD },
  seed: 'seed_auth.py',
});

const basic = (user, pw) => 'Basic ' + Buffer.from(`${user}:${pw}`).toString('base64');
const pw = (user) => (user === 'admin' ? ADMIN_PASSWORD : server.seeded.users[user]);

async function api(request, method, path, { user = 'admin', auth, body } = {}) {
  const res = await request.fetch(server.url + path, {
    method,
    headers: { Authorization: auth || basic(user, pw(user)) },
    data: body,
  });
  const text = await res.text();
  return { status: res.status(), body: text ? JSON.parse(text) : {} };
}

async function signIn(page, user) {
  await page.getByLabel('User name', { exact: true }).fill(user);
  await page.getByLabel('Password', { exact: true }).fill(pw(user));
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function storedValues(page) {
  return page.evaluate(() => {
    const all = [];
    for (const s of [sessionStorage, localStorage]) {
      for (let i = 0; i < s.length; i++) all.push(`${s.key(i)}=${s.getItem(s.key(i))}`);
    }
    return all;
  });
}

test('a 401 sends the browser to sign-in; a password becomes one revocable token; sign-out revokes it', async ({ page, request }) => {
  await page.goto(`${server.url}/ui/`);
  await expect(page).toHaveURL(`${server.url}/ui/sign-in?next=${encodeURIComponent('/ui/')}`);
  await expect(page.getByTestId('identity')).toHaveText('not signed in');

  await signIn(page, 'admin');
  await expect(page).toHaveURL(`${server.url}/ui/`);
  await expect(page.getByTestId('identity-name')).toHaveText('admin');
  await expect(page.getByTestId('identity')).toContainText('(admin)');
  const names = page.getByTestId('experiments').getByRole('link');
  await expect(names).toHaveCount(4);
  expect((await names.allTextContents()).sort()).toEqual(['Default', 'carol-private', 'ops-hidden', 'team-shared']);

  // Only a Bearer token is kept, never the password.
  const stored = await storedValues(page);
  expect(stored.some((s) => /^kiln\.auth=Bearer kiln_[0-9a-f]{64}$/.test(s))).toBe(true);
  expect(stored.join('\n')).not.toContain(ADMIN_PASSWORD);
  const bearer = stored.find((s) => s.startsWith('kiln.auth=')).slice('kiln.auth='.length);

  // The token the UI minted: named, short-lived, not revoked.
  const tokens = (await api(request, 'GET', '/api/v1/tokens')).body.tokens.filter((t) => t.name === 'kiln web UI');
  expect(tokens).toHaveLength(1);
  const life = tokens[0].expires_ms - tokens[0].created_ms;
  expect(life).toBeGreaterThan(8 * 3600_000 - 60_000);
  expect(life).toBeLessThanOrEqual(8 * 3600_000 + 60_000);
  expect(tokens[0].revoked_ms || 0).toBe(0);
  expect((await api(request, 'GET', '/api/v1/whoami', { auth: bearer })).body.name).toBe('admin');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/ui\/sign-in\?next=/);
  await expect(page.getByTestId('signed-out')).toHaveText('Signed out: the token this tab used is revoked.');
  expect((await storedValues(page)).filter((s) => s.startsWith('kiln.auth'))).toEqual([]);
  const after = (await api(request, 'GET', '/api/v1/tokens')).body.tokens.find((t) => t.id === tokens[0].id);
  expect(after.revoked_ms).toBeGreaterThan(0);
  expect((await api(request, 'GET', '/api/v1/whoami', { auth: bearer })).status).toBe(401);
});

test('a deep link comes back to its page after signing in; a wrong password shows the server\'s answer', async ({ page }) => {
  const shared = server.seeded.experiments['team-shared'];
  await page.goto(`${server.url}/ui/experiments/${shared}`);
  await expect(page).toHaveURL(`${server.url}/ui/sign-in?next=${encodeURIComponent(`/ui/experiments/${shared}`)}`);
  await page.getByLabel('User name', { exact: true }).fill('victor');
  await page.getByLabel('Password', { exact: true }).fill('not-victors-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('signin-error')).toBeVisible();
  await expect(page.getByTestId('signin-error')).not.toBeEmpty();
  await expect(page).toHaveURL(/\/ui\/sign-in\?next=/);
  await signIn(page, 'victor');
  await expect(page).toHaveURL(`${server.url}/ui/experiments/${shared}`);
  await expect(page.getByTestId('run-row')).toHaveCount(3);
});

test('a viewer sees only the experiments granted to him, and a rollback he may not make is refused with the server\'s message', async ({ page, request }) => {
  await page.goto(`${server.url}/ui/sign-in?next=/ui/`);
  await signIn(page, 'victor');
  await expect(page.getByTestId('identity-name')).toHaveText('victor');
  await expect(page.getByTestId('experiments').getByRole('link')).toHaveText(['team-shared']);
  // The same answer the server gives victor's own client.
  const seen = await api(request, 'POST', '/api/2.0/mlflow/experiments/search', { user: 'victor', body: { max_results: 100 } });
  expect(seen.body.experiments.map((e) => e.name)).toEqual(['team-shared']);

  // An experiment he was not granted: the server's refusal, not an empty page.
  const hidden = server.seeded.experiments['ops-hidden'];
  const refusal = await api(request, 'POST', '/api/2.0/mlflow/runs/search', {
    user: 'victor',
    body: { experiment_ids: [hidden], max_results: 1 },
  });
  expect(refusal.status).toBe(403);
  expect(refusal.body.message).toMatch(/^permission denied/i);
  await page.goto(`${server.url}/ui/experiments/${hidden}`);
  await expect(page.getByRole('alert').first()).toContainText(/permission denied/i);
  await expect(page.getByTestId('run-row')).toHaveCount(0);

  // A mutation that needs editor: rolling back the endpoint he may view.
  await page.goto(`${server.url}/ui/endpoints/${server.seeded.endpoint}`);
  await page.getByRole('button', { name: 'Roll back…' }).click();
  const dialog = page.getByTestId('rollback-dialog');
  await dialog.getByLabel('Reason').fill('viewer tries');
  await dialog.getByRole('button', { name: /^Roll back to revision/ }).click();
  const denied = await api(request, 'POST', `/api/v1/endpoints/${server.seeded.endpoint}:rollback`, {
    user: 'victor',
    body: { reason: 'same call through the API' },
  });
  expect(denied.status).toBe(403);
  await expect(dialog.getByRole('alert')).toHaveText(denied.body.message);
  // Nothing changed: the canary is still pending.
  const ep = await api(request, 'GET', `/api/v1/endpoints/${server.seeded.endpoint}`);
  expect(ep.body.status.pending).toBe(true);
});

test('a pasted API token signs in without a password and is not revoked by signing out', async ({ page, request }) => {
  const minted = await api(request, 'POST', '/api/v1/tokens', { body: { user: 'carol', name: 'carol-cli', expires_in_s: 3600 } });
  expect(minted.status).toBe(201);
  await page.goto(`${server.url}/ui/sign-in?next=/ui/`);
  await page.getByLabel('an API token', { exact: true }).check();
  await page.getByLabel('API token', { exact: true }).fill(minted.body.secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('identity-name')).toHaveText('carol');
  // carol is an editor on everything (she creates experiments), so she sees them all.
  await expect(page.getByTestId('experiments').getByRole('link')).toHaveCount(4);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByTestId('signed-out')).toContainText('not revoked');
  expect((await api(request, 'GET', '/api/v1/whoami', { auth: `Bearer ${minted.body.secret}` })).body.name).toBe('carol');

  await page.getByLabel('an API token', { exact: true }).check();
  await page.getByLabel('API token', { exact: true }).fill('kiln_' + '0'.repeat(64));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('signin-error')).not.toBeEmpty();
  expect((await storedValues(page)).filter((s) => s.startsWith('kiln.auth'))).toEqual([]);
});

test('the sign-in page has no axe-core violations and looks like its baseline', async ({ page }) => {
  await page.goto(`${server.url}/ui/sign-in?next=/ui/`);
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  expect(await axe(page)).toEqual([]);
  await page.getByLabel('an API token', { exact: true }).check();
  expect(await axe(page)).toEqual([]);
  await page.getByLabel('user name and password').check();
  // KILN_UI_DOCS=1: the picture of this page in docs/ui.md.
  if (process.env.KILN_UI_DOCS) await page.screenshot({ path: path.join(repo, 'docs/ui/signin.png') });
  // The main navigation grows with other pages.
  await expect(page).toHaveScreenshot('signin-form.png', { mask: [page.locator('header.top nav')] });
});

test('with auth off the header says so and nothing asks for a sign-in', async ({ page }) => {
  const base = process.env.KILN_UI_BASE; // the shared server of global-setup.js: no --auth
  await page.goto(`${base}/ui/`);
  await expect(page.getByTestId('identity')).toContainText('anonymous');
  await expect(page.getByTestId('identity')).toContainText('auth off');
  await expect(page.getByTestId('experiments')).toBeVisible();
  await expect(page).toHaveURL(`${base}/ui/`);
  await page.goto(`${base}/ui/sign-in`);
  await expect(page.getByTestId('auth-off')).toBeVisible();
  await expect(page.getByLabel('Password', { exact: true })).toHaveCount(0);
});
