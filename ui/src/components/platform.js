// Calls and small formatters shared by the Models and Endpoints pages: the
// platform API (/api/v1/endpoints) and MLflow's registry.
import { apiRequest, mlflowGet } from '../api.js';

export const ENDPOINTS = '/api/v1/endpoints';

export function formatTime(ms) {
  return ms ? new Date(Number(ms)).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '';
}

export function listEndpoints(signal) {
  return apiRequest('GET', ENDPOINTS, { signal }).then((d) => d.endpoints || []);
}

export function getEndpoint(name, signal) {
  return apiRequest('GET', `${ENDPOINTS}/${encodeURIComponent(name)}`, { signal });
}

export function endpointEvents(name, signal) {
  return apiRequest('GET', `${ENDPOINTS}/${encodeURIComponent(name)}/events`, { query: { max_results: 10000 }, signal });
}

// POST :rollback with a reason; returns {endpoint, auditId} (the audit record
// id kiln puts on every audited response).
export async function rollbackEndpoint(name, reason) {
  const res = await apiRequest('POST', `${ENDPOINTS}/${encodeURIComponent(name)}:rollback`, {
    body: reason ? { reason } : {},
    raw: true,
  });
  return { endpoint: await res.json(), auditId: res.headers.get('X-Kiln-Audit-Id') || '' };
}

export function modelHref(name) {
  return `/ui/models/${encodeURIComponent(name)}`;
}

export function endpointHref(name) {
  return `/ui/endpoints/${encodeURIComponent(name)}`;
}

export function runHref(runId) {
  return `/ui/runs/${encodeURIComponent(runId)}`;
}

// Every version of a registered model, newest first (all pages).
export async function modelVersions(name, signal) {
  const all = [];
  let token = '';
  do {
    const page = await mlflowGet(
      '/model-versions/search',
      { filter: `name = '${name.replace(/'/g, "\\'")}'`, max_results: 1000, order_by: 'version_number DESC', page_token: token },
      signal,
    );
    all.push(...(page.model_versions || []));
    token = page.next_page_token || '';
  } while (token);
  return all;
}

// The traffic share a revision's route to model@version receives now, from
// the endpoint's status (null when it takes none).
export function liveShare(endpoint, revision, model, version) {
  const routes = (endpoint.status?.traffic || []).filter(
    (t) => t.revision === revision && t.model === model && String(t.version) === String(version),
  );
  if (!routes.length) return null;
  return routes.reduce((a, t) => a + t.percent, 0);
}

export function percentText(p) {
  return `${p} %`;
}

export function rateText(r) {
  if (r === null || r === undefined || Number.isNaN(r)) return 'n/a';
  return `${(r * 100).toFixed(r === 0 ? 0 : 2)} %`;
}

export function msText(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return 'n/a';
  return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
}
