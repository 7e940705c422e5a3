// MLflow's own REST API, same origin as the UI. Errors carry MLflow's
// message so the user sees why a filter was refused.
const BASE = '/api/2.0/mlflow';

async function post(path, body, signal) {
  const res = await fetch(BASE + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
  const text = await res.text();
  let data = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { message: text };
  }
  if (!res.ok) throw new Error(data.message || `${res.status} ${res.statusText}`);
  return data;
}

export function searchExperiments(pageToken, signal) {
  const body = { max_results: 1000, order_by: ['name ASC'] };
  if (pageToken) body.page_token = pageToken;
  return post('/experiments/search', body, signal);
}

export function searchRuns({ experimentId, filter, orderBy, pageToken, maxResults }, signal) {
  const body = { experiment_ids: [experimentId], max_results: maxResults, run_view_type: 'ACTIVE_ONLY' };
  if (filter) body.filter = filter;
  if (orderBy) body.order_by = [orderBy];
  if (pageToken) body.page_token = pageToken;
  return post('/runs/search', body, signal);
}
