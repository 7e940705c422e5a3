// /ui/health: every store and service of this kiln with its status and the
// time its check took (GET /api/v1/health/components, administrators; each
// component checked when asked), and the public readiness verdict of
// GET /health (what load balancers see), which any caller may read.
import { useEffect } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { apiRequest } from '../api.js';
import './Health.css';

const LABELS = {
  metadata_store: 'Metadata database',
  artifact_store: 'Artifact store',
  online_store: 'Online feature store',
  audit_log: 'Audit log',
  model_repository: 'Model repository (serving)',
  endpoint_models: 'Deployment endpoints’ models',
  change_feed: 'Replica change feed',
  tracking: 'Tracking service (MLflow)',
  registry: 'Model registry service',
  serving: 'Inference service (V2/V1, gRPC)',
  features: 'Feature service (Feast)',
  platform: 'Platform API (endpoints)',
};

function formatUtc(ms) {
  return ms ? new Date(Number(ms)).toISOString().replace('T', ' ').slice(0, 19) : '';
}

function Status({ value }) {
  return (
    <span class={`badge ${value}`} data-testid="status">
      {value}
    </span>
  );
}

function Detail({ c }) {
  const d = c.detail || {};
  const parts = [];
  if (d.models) {
    const total = d.models.length;
    parts.push(`${d.ready} of ${total} ${total === 1 ? 'model' : 'models'} ready`);
    for (const m of d.models.filter((m) => m.state !== 'READY')) {
      parts.push(`${m.name}: ${m.state}${m.reason ? ` (${m.reason})` : ''}`);
    }
  }
  for (const [k, v] of Object.entries(d)) {
    if (k === 'models' || k === 'ready') continue;
    if (k === 'last_time_ms') parts.push(`last record at ${formatUtc(v)}`);
    else parts.push(`${k.replace(/_/g, ' ')}: ${typeof v === 'object' ? JSON.stringify(v) : v}`);
  }
  if (c.depends_on) parts.push(`uses ${c.depends_on.map((n) => LABELS[n] || n).join(', ')}`);
  return <span class="detail">{parts.join(' · ')}</span>;
}

export function Health() {
  const components = useSignal(null);
  const componentsError = useSignal('');
  const probe = useSignal(null);
  const probeError = useSignal('');
  const busy = useSignal(false);

  async function load() {
    busy.value = true;
    try {
      components.value = await apiRequest('GET', '/api/v1/health/components');
      componentsError.value = '';
    } catch (e) {
      components.value = null;
      componentsError.value = e.message;
    }
    try {
      // 503 when unhealthy or draining: the body is still the verdict.
      const res = await fetch('/health', { headers: { Accept: 'application/json' } });
      probe.value = { http: res.status, ...(await res.json()) };
      probeError.value = '';
    } catch (e) {
      probe.value = null;
      probeError.value = e.message;
    }
    busy.value = false;
  }

  useEffect(() => {
    load();
  }, []);

  const c = components.value;
  const p = probe.value;
  return (
    <main id="main" class="health">
      <h1>Health</h1>
      <p>
        <button type="button" onClick={load} disabled={busy.value}>
          {busy.value ? 'Checking…' : 'Check again'}
        </button>
      </p>
      <section aria-labelledby="components-h">
        <h2 id="components-h">
          Stores and services{' '}
          {c && (
            <span class="muted small" data-testid="checked-at">
              checked {formatUtc(c.checked_ms)} UTC
            </span>
          )}
        </h2>
        {componentsError.value && (
          <p role="alert" class="error" data-testid="components-error">
            Component health is not available: {componentsError.value}
          </p>
        )}
        {!c && !componentsError.value && <p aria-live="polite">Checking…</p>}
        {c && (
          <>
            <p data-testid="overall">
              Overall: <Status value={c.status} />
            </p>
            <table class="list" data-testid="components">
              <caption class="sr-only">Components and their health</caption>
              <thead>
                <tr>
                  <th scope="col">Component</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Status</th>
                  <th scope="col">Check took</th>
                  <th scope="col">Message</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {c.components.map((x) => (
                  <tr key={x.name} data-testid="component" data-name={x.name}>
                    <th scope="row">
                      {LABELS[x.name] || x.name} <span class="muted small">{x.name}</span>
                    </th>
                    <td>{x.kind}</td>
                    <td>
                      <Status value={x.status} />
                    </td>
                    <td class="num" data-testid="latency">
                      {x.status === 'off' ? '' : `${Number(x.latency_ms).toFixed(1)} ms`}
                    </td>
                    <td>{x.message}</td>
                    <td>
                      <Detail c={x} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </section>
      <section aria-labelledby="probe-h">
        <h2 id="probe-h">
          Readiness probe <code>/health</code>
        </h2>
        {probeError.value && <p role="alert" class="error">{probeError.value}</p>}
        {p && (
          <p data-testid="probe">
            HTTP {p.http}: <Status value={p.status === 'healthy' ? 'ok' : p.status === 'draining' ? 'degraded' : 'failing'} />{' '}
            {p.status}, kiln {p.version}
            {p.checks &&
              Object.entries(p.checks).map(([name, v]) => (
                <span key={name} class="probe-check">
                  {' '}
                  · {LABELS[name] || name}: {v.status}
                  {v.error ? ` (${v.error})` : ''}
                </span>
              ))}
          </p>
        )}
      </section>
    </main>
  );
}

export const routes = [{ path: '/ui/health', component: Health }];
export const nav = { label: 'Health', href: '/ui/health', order: 60 };
