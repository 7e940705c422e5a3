// Metric charts of an experiment's runs: /ui/experiments/:id/charts
//   ?runs=<id>,<id>...   the runs to chart (the runs table and the run page
//                        link here); none: the experiment's first 10 runs by
//                        start time
//   &metric=<key>        the metric (default: the one most of the runs logged)
//   &x=step|time|metric:<key>  &smooth=0..0.99  &log=1  &group=param:<k>|tag:<k>
// Every control writes its state back to the URL (replacing the entry), so
// a chart can be linked as it is seen.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { mlflowGet, mlflowPost } from '../api.js';
import { MetricChart, PALETTE } from '../components/MetricChart.jsx';
import './Charts.css';

const DEFAULT_RUNS = 10;
const MAX_RUNS = 100;

function quote(s) {
  return `'${String(s).replace(/'/g, "\\'")}'`;
}

async function loadRuns(experimentId, ids, signal) {
  if (!ids.length) {
    const page = await mlflowPost(
      '/runs/search',
      { experiment_ids: [experimentId], max_results: DEFAULT_RUNS, order_by: ['attributes.start_time ASC'], run_view_type: 'ACTIVE_ONLY' },
      signal,
    );
    return { runs: page.runs || [], missing: [] };
  }
  const page = await mlflowPost(
    '/runs/search',
    {
      experiment_ids: [experimentId],
      max_results: MAX_RUNS,
      filter: `attributes.run_id IN (${ids.map(quote).join(', ')})`,
      run_view_type: 'ALL',
    },
    signal,
  );
  const byId = new Map((page.runs || []).map((r) => [r.info.run_id, r]));
  return { runs: ids.filter((id) => byId.has(id)).map((id) => byId.get(id)), missing: ids.filter((id) => !byId.has(id)) };
}

function keysOf(runs, field) {
  const set = new Set();
  for (const r of runs) for (const kv of r.data?.[field] || []) set.add(kv.key);
  return [...set].sort();
}

// The metric most of the runs logged (ties: the first by name).
function commonest(runs, keys) {
  const n = new Map(keys.map((k) => [k, 0]));
  for (const r of runs) for (const m of r.data?.metrics || []) n.set(m.key, (n.get(m.key) || 0) + 1);
  let best = '';
  for (const k of keys) if (!best || n.get(k) > n.get(best)) best = k;
  return best;
}

function valueOf(run, source, key) {
  const list = run.data?.[source === 'param' ? 'params' : 'tags'] || [];
  return list.find((kv) => kv.key === key)?.value;
}

function parseX(v) {
  if (v === 'time') return { kind: 'time' };
  if (v && v.startsWith('metric:')) return { kind: 'metric', key: v.slice(7) };
  return { kind: 'step' };
}

function parseGroup(v) {
  const m = /^(param|tag):(.+)$/.exec(v || '');
  return m ? { source: m[1], key: m[2] } : null;
}

export function Charts({ id }) {
  const loc = useLocation();
  const q = loc.query || {};
  const runIds = useMemo(
    () => (q.runs || '').split(',').map((s) => s.trim()).filter(Boolean).slice(0, MAX_RUNS),
    [q.runs],
  );
  const askedRuns = (q.runs || '').split(',').filter(Boolean).length;
  const [experiment, setExperiment] = useState(null);
  const [data, setData] = useState(null); // {runs, missing}
  const [error, setError] = useState('');
  const [smoothDraft, setSmoothDraft] = useState(null);

  useEffect(() => {
    const ctl = new AbortController();
    setError('');
    setData(null);
    Promise.all([
      mlflowGet('/experiments/get', { experiment_id: id }, ctl.signal).then((r) => setExperiment(r.experiment)),
      loadRuns(id, runIds, ctl.signal).then(setData),
    ]).catch((e) => {
      if (e.name !== 'AbortError') setError(e.message);
    });
    return () => ctl.abort();
  }, [id, runIds.join(',')]);

  const runs = data?.runs || [];
  const metricKeys = useMemo(() => keysOf(runs, 'metrics'), [data]);
  const paramKeys = useMemo(() => keysOf(runs, 'params'), [data]);
  const tagKeys = useMemo(() => keysOf(runs, 'tags').filter((k) => !k.startsWith('mlflow.')), [data]);
  const metric = q.metric || commonest(runs, metricKeys);
  const x = parseX(q.x);
  const smoothing = Math.max(0, Math.min(0.99, Number(q.smooth) || 0));
  const logY = q.log === '1';
  const group = parseGroup(q.group);

  function set(changes) {
    const next = { ...q, ...changes };
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(next)) if (v !== undefined && v !== null && v !== '') params.set(k, v);
    const s = params.toString().replace(/%2C/g, ',').replace(/%3A/g, ':');
    loc.route(`/ui/experiments/${encodeURIComponent(id)}/charts${s ? `?${s}` : ''}`, true);
  }

  const chartRuns = useMemo(
    () => runs.map((r, i) => ({ id: r.info.run_id, label: r.info.run_name || r.info.run_id.slice(0, 8), color: PALETTE[i % PALETTE.length] })),
    [data],
  );

  const groups = useMemo(() => {
    if (!group) return null;
    const by = new Map();
    for (const r of runs) {
      const v = valueOf(r, group.source, group.key);
      const k = v === undefined ? null : v;
      if (!by.has(k)) by.set(k, []);
      by.get(k).push(r.info.run_id);
    }
    const values = [...by.keys()].sort((a, b) => (a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0));
    return values.map((v, i) => ({
      label: v === null ? `${group.key} not set` : `${group.key}=${v}`,
      color: PALETTE[i % PALETTE.length],
      runIds: by.get(v),
    }));
  }, [data, q.group]);

  const smoothShown = smoothDraft ?? smoothing;

  return (
    <main id="main" class="charts-page">
      <p class="crumbs">
        <a href="/ui/">Experiments</a> › <a href={`/ui/experiments/${encodeURIComponent(id)}`}>{experiment?.name || `Experiment ${id}`}</a> › Charts
      </p>
      <h1>
        Charts <span class="muted">{experiment?.name || ''}</span>
      </h1>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {!data && !error && <p aria-live="polite">Loading runs…</p>}
      {data && (
        <>
          <p class="muted" data-testid="charts-runs">
            {runIds.length
              ? `${runs.length} run${runs.length === 1 ? '' : 's'} chosen`
              : `The experiment's first ${runs.length} run${runs.length === 1 ? '' : 's'} by start time`}
            {askedRuns > MAX_RUNS && ` (the first ${MAX_RUNS} of the ${askedRuns} runs given)`}
            {data.missing.length > 0 && ` · not found in this experiment: ${data.missing.join(', ')}`}
          </p>
          {runs.length === 0 ? (
            <p>This experiment has no runs to chart.</p>
          ) : (
            <>
              <form class="chart-controls" onSubmit={(e) => e.preventDefault()}>
                <span class="field">
                  <label for="chart-metric">Metric</label>
                  <select id="chart-metric" value={metric} onChange={(e) => set({ metric: e.currentTarget.value, x: x.kind === 'metric' && x.key === e.currentTarget.value ? '' : q.x })}>
                    {!metricKeys.includes(metric) && metric && <option value={metric}>{metric}</option>}
                    {metricKeys.map((k) => (
                      <option key={k} value={k}>
                        {k}
                      </option>
                    ))}
                  </select>
                </span>
                <span class="field">
                  <label for="chart-x">X axis</label>
                  <select id="chart-x" value={x.kind === 'metric' ? `metric:${x.key}` : x.kind} onChange={(e) => set({ x: e.currentTarget.value === 'step' ? '' : e.currentTarget.value })}>
                    <option value="step">Step</option>
                    <option value="time">Relative time</option>
                    {metricKeys
                      .filter((k) => k !== metric)
                      .map((k) => (
                        <option key={k} value={`metric:${k}`}>
                          Metric: {k}
                        </option>
                      ))}
                  </select>
                </span>
                <span class="field">
                  <label for="chart-smoothing">Smoothing</label>
                  <input
                    id="chart-smoothing"
                    type="range"
                    min="0"
                    max="0.99"
                    step="0.01"
                    value={smoothShown}
                    onInput={(e) => setSmoothDraft(Number(e.currentTarget.value))}
                    onChange={(e) => {
                      setSmoothDraft(null);
                      set({ smooth: Number(e.currentTarget.value) ? e.currentTarget.value : '' });
                    }}
                    aria-valuetext={smoothShown ? `EMA weight ${smoothShown}` : 'off'}
                  />
                  <output for="chart-smoothing" data-testid="smoothing-value">
                    {smoothShown ? smoothShown.toFixed(2) : 'off'}
                  </output>
                </span>
                <label class="check-inline">
                  <input type="checkbox" checked={logY} onChange={(e) => set({ log: e.currentTarget.checked ? '1' : '' })} />
                  Log scale (y)
                </label>
                <span class="field">
                  <label for="chart-group">Group by</label>
                  <select id="chart-group" value={group ? `${group.source}:${group.key}` : ''} onChange={(e) => set({ group: e.currentTarget.value })}>
                    <option value="">No grouping</option>
                    {paramKeys.map((k) => (
                      <option key={`p${k}`} value={`param:${k}`}>
                        Param: {k}
                      </option>
                    ))}
                    {tagKeys.map((k) => (
                      <option key={`t${k}`} value={`tag:${k}`}>
                        Tag: {k}
                      </option>
                    ))}
                    {group && !(group.source === 'param' ? paramKeys : tagKeys).includes(group.key) && (
                      <option value={`${group.source}:${group.key}`}>
                        {group.source === 'param' ? 'Param' : 'Tag'}: {group.key}
                      </option>
                    )}
                  </select>
                </span>
              </form>
              {metric ? (
                <MetricChart runs={chartRuns} metric={metric} x={x} smoothing={smoothing} logY={logY} groups={groups} />
              ) : (
                <p>These runs logged no metrics.</p>
              )}
            </>
          )}
        </>
      )}
    </main>
  );
}

export const routes = [{ path: '/ui/experiments/:id/charts', component: Charts }];
