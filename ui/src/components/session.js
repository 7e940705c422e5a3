// Who the UI is signed in as, and how it signs in and out (issue 15 item 6).
//
// The UI holds one credential: a Bearer token in api.js (setAuthHeader, kept
// in sessionStorage for this tab). A password is sent once, as Basic auth on
// POST /api/v1/tokens, to mint a short-lived token for this tab; the password
// itself is never stored. Signing out revokes a token the UI minted (DELETE
// /api/v1/tokens/{id}) and forgets it; a pasted token is only forgotten,
// since the user may use it elsewhere.
import { signal } from '@preact/signals';
import { apiRequest, setAuthHeader, getAuthHeader, ApiError } from '../api.js';

const MINTED_KEY = 'kiln.auth.minted';
// How long a token minted from a password lives: a working day. When it
// expires the next call is answered 401 and the UI asks to sign in again.
export const UI_TOKEN_SECONDS = 8 * 3600;

// state: 'loading' | 'signed-in' | 'signed-out' (auth on, no valid
//        credential) | 'auth-off' (kiln serve without --auth) | 'error'
export const session = signal({ state: 'loading', principal: null, message: '' });

// Answers to an older call (made with a credential since replaced) are dropped.
let generation = 0;

// GET /api/v1/whoami: the principal; 401 when auth is on and the credential is
// missing or no longer valid; 400 "auth is not enabled" when auth is off
// (kiln then allows every call and audits it as "anonymous").
export async function refreshSession() {
  const mine = ++generation;
  let next;
  try {
    const p = await apiRequest('GET', '/api/v1/whoami');
    next = { state: 'signed-in', principal: p, message: '' };
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      next = { state: 'signed-out', principal: null, message: getAuthHeader() ? e.message : '' };
    } else if (e instanceof ApiError && e.status === 400 && /auth is not enabled/i.test(e.message)) {
      next = { state: 'auth-off', principal: null, message: e.message };
    } else {
      next = { state: 'error', principal: null, message: e.message };
    }
  }
  if (mine === generation) session.value = next;
  return next;
}

function basic(username, password) {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return 'Basic ' + btoa(bin);
}

function mintedId() {
  return sessionStorage.getItem(MINTED_KEY);
}

// Exchanges a user name and password for a token of this tab. Throws ApiError
// with the server's message (wrong password: 401; too many attempts: 429).
export async function signInWithPassword(username, password) {
  await forget();
  const res = await apiRequest('POST', '/api/v1/tokens', {
    body: { name: 'kiln web UI', expires_in_s: UI_TOKEN_SECONDS },
    headers: { Authorization: basic(username, password) },
  });
  sessionStorage.setItem(MINTED_KEY, res.token.id);
  setAuthHeader('Bearer ' + res.secret);
  return refreshSession();
}

// Uses an API token the user already has (kiln tokens create).
export async function signInWithToken(token) {
  await forget();
  setAuthHeader('Bearer ' + token.trim().replace(/^Bearer\s+/i, ''));
  const s = await refreshSession();
  if (s.state !== 'signed-in') {
    setAuthHeader(null);
    throw new ApiError(401, s.message || 'the token was not accepted');
  }
  return s;
}

// What the last sign-out did, for the sign-in page to say.
export const lastSignOut = signal(null);

// Drops the credential of this tab; a token the UI minted is revoked first.
// lastSignOut becomes {revoked, problem}: problem is the server's message when
// the revocation failed (the token then expires on its own).
export async function signOut() {
  const result = { revoked: false, problem: '' };
  const id = mintedId();
  if (id && getAuthHeader()) {
    try {
      await apiRequest('DELETE', `/api/v1/tokens/${encodeURIComponent(id)}`);
      result.revoked = true;
    } catch (e) {
      // 401: already expired or revoked elsewhere, so nothing is left to revoke.
      if (e instanceof ApiError && e.status === 401) result.revoked = true;
      else result.problem = e.message;
    }
  }
  await forget();
  lastSignOut.value = result;
  await refreshSession();
  return result;
}

async function forget() {
  sessionStorage.removeItem(MINTED_KEY);
  if (getAuthHeader()) setAuthHeader(null);
}

// Where to go after signing in: a path of this UI only (never another site).
export function safeNext(next) {
  if (typeof next !== 'string' || !next.startsWith('/ui/') || next.startsWith('/ui/sign-in')) return '/ui/';
  if (next.includes('//') || next.includes('\\')) return '/ui/';
  return next;
}
