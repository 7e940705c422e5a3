// The one way the UI talks to kiln: same origin, JSON, the signed-in user's
// credentials on every request. Errors carry the server's own message (MLflow
// `{error_code, message}`, the platform API's `{error_code, message}`, V2's
// `{error}`, Feast's `{detail}`) so the user sees why something was refused.

const AUTH_KEY = 'kiln.auth';

// The Authorization header value ("Bearer ..." or "Basic ..."), kept for the
// browser tab only. Set by the sign-in widget (header/), read on every call.
let authHeader = typeof sessionStorage !== 'undefined' ? sessionStorage.getItem(AUTH_KEY) : null;

export function setAuthHeader(value) {
  authHeader = value || null;
  if (value) sessionStorage.setItem(AUTH_KEY, value);
  else sessionStorage.removeItem(AUTH_KEY);
  window.dispatchEvent(new CustomEvent('kiln:auth-changed'));
}

export function getAuthHeader() {
  return authHeader;
}

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code || '';
  }
}

function errorMessage(data, res) {
  if (data && typeof data === 'object') {
    const m = data.message || data.error || data.detail;
    if (typeof m === 'string' && m) return m;
    if (m) return JSON.stringify(m);
  }
  return `${res.status} ${res.statusText}`;
}

// method, absolute path ('/api/2.0/mlflow/runs/get'), options:
//   query: object of query parameters (arrays repeat the key)
//   body: JSON-serialisable request body
//   signal: AbortSignal
//   raw: return the Response itself (downloads, ranged reads)
//   headers: extra request headers
export async function apiRequest(method, path, { query, body, signal, raw, headers } = {}) {
  let url = path;
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === '') continue;
      for (const item of Array.isArray(v) ? v : [v]) qs.append(k, String(item));
    }
    const s = qs.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  const h = { ...(headers || {}) };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (authHeader) h.Authorization = authHeader;
  const res = await fetch(url, {
    // No cookies and no HTTP authentication of the browser's own: the only
    // credential is the Authorization header above. This also keeps a 401's
    // `WWW-Authenticate: Basic` from opening the browser's login dialog (or,
    // headless, from stalling the request on it).
    credentials: 'omit',
    method,
    headers: h,
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal,
  });
  if (res.status === 401) window.dispatchEvent(new CustomEvent('kiln:unauthorized'));
  if (raw) {
    if (!res.ok) {
      const text = await res.text();
      let data = {};
      try {
        data = text ? JSON.parse(text) : {};
      } catch {
        data = { message: text };
      }
      throw new ApiError(res.status, errorMessage(data, res), data.error_code);
    }
    return res;
  }
  const text = await res.text();
  let data = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { message: text };
  }
  if (!res.ok) throw new ApiError(res.status, errorMessage(data, res), data.error_code);
  return data;
}

const MLFLOW = '/api/2.0/mlflow';

export function mlflowPost(path, body, signal) {
  return apiRequest('POST', MLFLOW + path, { body, signal });
}

export function mlflowGet(path, query, signal) {
  return apiRequest('GET', MLFLOW + path, { query, signal });
}

export function searchExperiments(pageToken, signal) {
  const body = { max_results: 1000, order_by: ['name ASC'] };
  if (pageToken) body.page_token = pageToken;
  return mlflowPost('/experiments/search', body, signal);
}

export function searchRuns({ experimentId, filter, orderBy, pageToken, maxResults }, signal) {
  const body = { experiment_ids: [experimentId], max_results: maxResults, run_view_type: 'ACTIVE_ONLY' };
  if (filter) body.filter = filter;
  if (orderBy) body.order_by = [orderBy];
  if (pageToken) body.page_token = pageToken;
  return mlflowPost('/runs/search', body, signal);
}
