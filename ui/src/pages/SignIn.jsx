// /ui/sign-in: a user name and password, exchanged once for a short-lived API
// token of this tab (the password is not kept), or an API token pasted as it
// is. Afterwards the browser returns to ?next= (a path of this UI).
import { useSignal } from '@preact/signals';
import { useLocation } from 'preact-iso';
import { session, lastSignOut, signInWithPassword, signInWithToken, signOut, safeNext, UI_TOKEN_SECONDS } from '../components/session.js';
import './SignIn.css';

export function SignIn() {
  const { query, route } = useLocation();
  const mode = useSignal('password');
  const username = useSignal('');
  const password = useSignal('');
  const token = useSignal('');
  const error = useSignal('');
  const busy = useSignal(false);
  const next = safeNext(query.next);
  const s = session.value;

  async function submit(e) {
    e.preventDefault();
    error.value = '';
    busy.value = true;
    try {
      if (mode.value === 'password') {
        await signInWithPassword(username.value, password.value);
      } else {
        await signInWithToken(token.value);
      }
      password.value = '';
      token.value = '';
      lastSignOut.value = null;
      route(next);
    } catch (err) {
      error.value = err.message;
    } finally {
      busy.value = false;
    }
  }

  return (
    <main id="main" class="signin">
      <h1>Sign in</h1>
      {s.state === 'auth-off' && (
        <p data-testid="auth-off">
          This server runs without <code>--auth</code>: every call is allowed and audited as{' '}
          <strong>anonymous</strong>, so there is nothing to sign in to. <a href={next}>Continue</a>
        </p>
      )}
      {s.state === 'signed-in' && (
        <p data-testid="already">
          You are signed in as <strong>{s.principal.name}</strong>. <a href={next}>Continue</a> or{' '}
          <button type="button" onClick={() => signOut()}>
            sign out
          </button>
        </p>
      )}
      {lastSignOut.value && s.state === 'signed-out' && (
        <p role="status" data-testid="signed-out" class={lastSignOut.value.problem ? 'error' : ''}>
          {lastSignOut.value.problem
            ? `Signed out, but the token could not be revoked (${lastSignOut.value.problem}); it expires on its own.`
            : lastSignOut.value.revoked
              ? 'Signed out: the token this tab used is revoked.'
              : 'Signed out: this tab no longer holds the pasted token (it is not revoked).'}
        </p>
      )}
      {s.state !== 'auth-off' && s.state !== 'signed-in' && (
        <form onSubmit={submit} aria-describedby="signin-note">
          <fieldset class="mode">
            <legend>Sign in with</legend>
            <label>
              <input
                type="radio"
                name="mode"
                value="password"
                checked={mode.value === 'password'}
                onChange={() => (mode.value = 'password')}
              />{' '}
              user name and password
            </label>
            <label>
              <input
                type="radio"
                name="mode"
                value="token"
                checked={mode.value === 'token'}
                onChange={() => (mode.value = 'token')}
              />{' '}
              an API token
            </label>
          </fieldset>
          {mode.value === 'password' ? (
            <>
              <label class="field">
                User name
                <input
                  name="username"
                  autocomplete="username"
                  required
                  value={username.value}
                  onInput={(e) => (username.value = e.currentTarget.value)}
                />
              </label>
              <label class="field">
                Password
                <input
                  name="password"
                  type="password"
                  autocomplete="current-password"
                  required
                  value={password.value}
                  onInput={(e) => (password.value = e.currentTarget.value)}
                />
              </label>
            </>
          ) : (
            <label class="field">
              API token
              <input
                name="token"
                type="password"
                autocomplete="off"
                spellcheck={false}
                required
                placeholder="kiln_…"
                value={token.value}
                onInput={(e) => (token.value = e.currentTarget.value)}
              />
            </label>
          )}
          {error.value && (
            <p role="alert" class="error" data-testid="signin-error">
              {error.value}
            </p>
          )}
          <button type="submit" disabled={busy.value}>
            {busy.value ? 'Signing in…' : 'Sign in'}
          </button>
          <p id="signin-note" class="muted note">
            {mode.value === 'password'
              ? `The password is sent once to create an API token for this browser tab (valid ${UI_TOKEN_SECONDS / 3600} hours, revoked when you sign out); the password itself is not kept.`
              : 'The token is kept for this browser tab only and is not revoked when you sign out.'}
          </p>
        </form>
      )}
    </main>
  );
}

export const routes = [{ path: '/ui/sign-in', component: SignIn }];
