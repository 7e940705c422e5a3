// One run (/ui/runs/<run_id>): what MLflow's runs/get returns, shown as it
// came (values are never rounded here), plus the run's datasets, the logged
// models it produced or used, and its artifacts with previews.
import { useEffect, useMemo } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { mlflowGet } from '../api.js';
import { ArtifactBrowser, loggedModelArtifactSource, runArtifactSource } from '../components/ArtifactBrowser.jsx';
import './Run.css';

function formatTime(ms) {
  if (ms === undefined || ms === null || ms === '') return '';
  return `${new Date(Number(ms)).toISOString().replace('T', ' ').slice(0, 19)} UTC`;
}

export function formatDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${ms} ms`;
  let s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const parts = [];
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d) parts.push(`${d} d`);
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (Math.round(s) && !d) parts.push(`${Math.round(s)} s`);
  return parts.join(' ');
}

function parseJson(text) {
  if (typeof text !== 'string' || !text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// MLflow's dataset schema: {"mlflow_colspec": [{type, name}]} or
// {"mlflow_tensorspec": {...}}; anything else is shown as its JSON text.
function SchemaView({ schema }) {
  const parsed = parseJson(schema);
  const cols = parsed && Array.isArray(parsed.mlflow_colspec) ? parsed.mlflow_colspec : null;
  if (!cols) return <code class="mono wrap">{schema}</code>;
  return (
    <ul class="schema" aria-label="Columns">
      {cols.map((c, i) => (
        <li key={i}>
          <span class="mono">{c.name ?? `(column ${i})`}</span> <span class="muted">{c.type}</span>
          {c.required === false ? <span class="muted"> optional</span> : null}
        </li>
      ))}
    </ul>
  );
}

function sourceText(source) {
  const parsed = parseJson(source);
  if (parsed && typeof parsed === 'object') {
    return parsed.uri || parsed.url || parsed.path || parsed.table_name || source;
  }
  return source;
}

function KeyValueTable({ caption, rows, testid, empty }) {
  if (!rows.length) return <p class="muted">{empty}</p>;
  return (
    <table class="list kv" data-testid={testid}>
      <caption class="sr-only">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Key</th>
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key}>
            <th scope="row" class="mono">
              {r.key}
            </th>
            <td class="mono wrap">{r.value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function byKey(a, b) {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function LoggedModels({ run }) {
  const ids = useMemo(() => {
    const out = new Map();
    for (const m of run.outputs?.model_outputs || []) out.set(m.model_id, { id: m.model_id, direction: 'output', step: m.step });
    for (const m of run.inputs?.model_inputs || []) if (!out.has(m.model_id)) out.set(m.model_id, { id: m.model_id, direction: 'input' });
    return [...out.values()];
  }, [run]);
  const models = useSignal({}); // id -> {model} | {error}
  const open = useSignal('');

  useEffect(() => {
    const ctl = new AbortController();
    for (const m of ids) {
      mlflowGet(`/logged-models/${encodeURIComponent(m.id)}`, undefined, ctl.signal)
        .then((r) => (models.value = { ...models.value, [m.id]: { model: r.model } }))
        .catch((e) => {
          if (e.name !== 'AbortError') models.value = { ...models.value, [m.id]: { error: e.message } };
        });
    }
    return () => ctl.abort();
  }, [ids]);

  if (!ids.length) return null;
  return (
    <section aria-labelledby="run-models">
      <h2 id="run-models">Logged models</h2>
      <table class="list" data-testid="logged-models">
        <caption class="sr-only">Logged models</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Model ID</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">Artifacts</th>
          </tr>
        </thead>
        <tbody>
          {ids.map((m) => {
            const got = models.value[m.id];
            const info = got?.model?.info;
            return (
              <tr key={m.id}>
                <td>{info ? info.name : got?.error ? <span class="error">{got.error}</span> : 'Loading…'}</td>
                <td class="mono" data-testid="model-id">
                  {m.id}
                </td>
                <td>{m.direction === 'output' ? `output${m.step ? ` at step ${m.step}` : ''}` : 'input'}</td>
                <td>{info?.status ?? ''}</td>
                <td>
                  <button
                    type="button"
                    aria-expanded={String(open.value === m.id)}
                    onClick={() => (open.value = open.value === m.id ? '' : m.id)}
                  >
                    {open.value === m.id ? 'Hide files' : 'Show files'}
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {open.value && (
        <div class="model-files">
          <h3>
            Files of logged model <span class="mono">{models.value[open.value]?.model?.info?.name || open.value}</span>
          </h3>
          <ArtifactBrowser
            source={loggedModelArtifactSource(open.value)}
            label={`Files of logged model ${models.value[open.value]?.model?.info?.name || open.value}`}
          />
        </div>
      )}
    </section>
  );
}

export function Run({ id }) {
  const run = useSignal(null);
  const experiment = useSignal(null);
  const error = useSignal('');
  const now = useSignal(Date.now());
  const initialArtifact = useMemo(() => new URLSearchParams(window.location.search).get('artifact') || '', [id]);
  const runSource = useMemo(() => runArtifactSource(id), [id]);

  useEffect(() => {
    const ctl = new AbortController();
    run.value = null;
    error.value = '';
    (async () => {
      try {
        const r = await mlflowGet('/runs/get', { run_id: id }, ctl.signal);
        run.value = r.run;
        try {
          const e = await mlflowGet('/experiments/get', { experiment_id: r.run.info.experiment_id }, ctl.signal);
          experiment.value = e.experiment;
        } catch (e) {
          if (e.name !== 'AbortError') experiment.value = { error: e.message };
        }
      } catch (e) {
        if (e.name !== 'AbortError') error.value = e.message;
      }
    })();
    return () => ctl.abort();
  }, [id]);

  // A running run's duration grows; refresh it while the page is open.
  useEffect(() => {
    if (!run.value || run.value.info.end_time) return undefined;
    const t = setInterval(() => (now.value = Date.now()), 5000);
    return () => clearInterval(t);
  }, [run.value]);

  if (error.value) {
    return (
      <main id="main" class="run-page">
        <h1>Run {id}</h1>
        <p role="alert" class="error">
          {error.value}
        </p>
      </main>
    );
  }
  if (!run.value) {
    return (
      <main id="main" class="run-page">
        <h1>Run {id}</h1>
        <p aria-live="polite">Loading…</p>
      </main>
    );
  }

  const { info, data = {}, inputs = {} } = run.value;
  const eid = info.experiment_id;
  const tags = (data.tags || []).slice().sort(byKey);
  const userTags = tags.filter((t) => !t.key.startsWith('mlflow.'));
  const systemTags = tags.filter((t) => t.key.startsWith('mlflow.'));
  const params = (data.params || []).slice().sort(byKey);
  const metrics = (data.metrics || []).slice().sort(byKey);
  const datasets = inputs.dataset_inputs || [];
  const start = info.start_time ? Number(info.start_time) : null;
  const end = info.end_time ? Number(info.end_time) : null;
  const duration = start !== null ? (end !== null ? end - start : now.value - start) : null;
  const expName = experiment.value?.name;
  const user = info.user_id || tags.find((t) => t.key === 'mlflow.user')?.value || '';
  const chartHref = (key) =>
    `/ui/experiments/${encodeURIComponent(eid)}/charts?runs=${encodeURIComponent(info.run_id)}&metric=${encodeURIComponent(key)}`;

  return (
    <main id="main" class="run-page">
      <p class="crumbs">
        <a href={`/ui/experiments/${encodeURIComponent(eid)}`} data-testid="experiment-link">
          {expName ? `Experiment ${expName}` : `Experiment ${eid}`}
        </a>
      </p>
      <h1>
        <span data-testid="run-name">{info.run_name || info.run_id}</span>{' '}
        <span class={`status status-${String(info.status).toLowerCase()}`} data-testid="run-status">
          {info.status}
        </span>
      </h1>
      <dl class="facts run-facts">
        <dt>Run ID</dt>
        <dd class="mono" data-testid="run-id">
          {info.run_id}
        </dd>
        <dt>Experiment</dt>
        <dd>
          <a href={`/ui/experiments/${encodeURIComponent(eid)}`}>{expName || eid}</a>{' '}
          <span class="muted">(ID {eid})</span>
          {experiment.value?.error && <span class="error"> {experiment.value.error}</span>}
        </dd>
        <dt>Started</dt>
        <dd data-testid="run-start">{start !== null ? formatTime(start) : 'not recorded'}</dd>
        <dt>Ended</dt>
        <dd data-testid="run-end">{end !== null ? formatTime(end) : info.status === 'RUNNING' ? 'still running' : 'not recorded'}</dd>
        <dt>Duration</dt>
        <dd data-testid="run-duration">
          {duration !== null ? `${formatDuration(duration)}${end === null ? ' so far' : ''}` : 'unknown'}
        </dd>
        {user && (
          <>
            <dt>User</dt>
            <dd>{user}</dd>
          </>
        )}
        {info.lifecycle_stage && info.lifecycle_stage !== 'active' && (
          <>
            <dt>Lifecycle</dt>
            <dd>{info.lifecycle_stage}</dd>
          </>
        )}
      </dl>

      <div class="run-columns">
        <section aria-labelledby="run-params">
          <h2 id="run-params">
            Parameters <span class="muted">({params.length})</span>
          </h2>
          <KeyValueTable caption="Parameters" rows={params} testid="params" empty="No parameters logged." />
        </section>
        <section aria-labelledby="run-metrics">
          <h2 id="run-metrics">
            Metrics <span class="muted">(latest values, {metrics.length})</span>
          </h2>
          {metrics.length === 0 ? (
            <p class="muted">No metrics logged.</p>
          ) : (
            <table class="list" data-testid="metrics">
              <caption class="sr-only">Latest metric values</caption>
              <thead>
                <tr>
                  <th scope="col">Metric</th>
                  <th scope="col" class="num">
                    Value
                  </th>
                  <th scope="col" class="num">
                    Step
                  </th>
                  <th scope="col">Logged</th>
                  <th scope="col">History</th>
                </tr>
              </thead>
              <tbody>
                {metrics.map((m) => (
                  <tr key={m.key}>
                    <th scope="row" class="mono">
                      {m.key}
                    </th>
                    <td class="mono num">{String(m.value)}</td>
                    <td class="num">{m.step ?? ''}</td>
                    <td>{formatTime(m.timestamp)}</td>
                    <td>
                      <a href={chartHref(m.key)} aria-label={`Chart of ${m.key}`} data-testid="metric-chart-link">
                        Chart
                      </a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>

      <section aria-labelledby="run-tags">
        <h2 id="run-tags">
          Tags <span class="muted">({userTags.length})</span>
        </h2>
        <KeyValueTable caption="Tags" rows={userTags} testid="tags" empty="No tags of your own (system tags below)." />
        {systemTags.length > 0 && (
          <details class="system-tags" data-testid="system-tags">
            <summary>System tags (mlflow.*): {systemTags.length}</summary>
            <KeyValueTable caption="System tags" rows={systemTags} testid="system-tags-table" empty="" />
          </details>
        )}
      </section>

      <section aria-labelledby="run-datasets">
        <h2 id="run-datasets">
          Datasets <span class="muted">({datasets.length})</span>
        </h2>
        {datasets.length === 0 ? (
          <p class="muted">No dataset inputs logged.</p>
        ) : (
          <table class="list datasets" data-testid="datasets">
            <caption class="sr-only">Dataset inputs</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Context</th>
                <th scope="col">Digest</th>
                <th scope="col">Source</th>
                <th scope="col">Rows</th>
                <th scope="col">Schema</th>
              </tr>
            </thead>
            <tbody>
              {datasets.map((di, i) => {
                const d = di.dataset || {};
                const context = (di.tags || []).find((t) => t.key === 'mlflow.data.context')?.value || '';
                const profile = parseJson(d.profile);
                return (
                  <tr key={i} data-testid="dataset-row">
                    <td>{d.name}</td>
                    <td>{context}</td>
                    <td class="mono">{d.digest}</td>
                    <td class="wrap">
                      <span class="muted">{d.source_type}</span> <span class="mono">{sourceText(d.source)}</span>
                    </td>
                    <td class="num">{profile?.num_rows ?? ''}</td>
                    <td>{d.schema ? <SchemaView schema={d.schema} /> : <span class="muted">none</span>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="run-artifacts">
        <h2 id="run-artifacts">Artifacts</h2>
        <ArtifactBrowser
          source={runSource}
          label="Run artifacts"
          initialPath={initialArtifact}
          onSelect={(path) => {
            const u = new URL(window.location.href);
            u.searchParams.set('artifact', path);
            history.replaceState(history.state, '', u.pathname + u.search + u.hash);
          }}
        />
      </section>

      <LoggedModels run={run.value} />
    </main>
  );
}

export const routes = [{ path: '/ui/runs/:id', component: Run }];
