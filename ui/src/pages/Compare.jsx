import { Component } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { useLocation } from 'preact-iso';
import { mlflowPost } from '../api.js';
import { ParallelCoords, axisModel, axisValueLabel, toModelUnits } from '../components/ParallelCoords.jsx';
import { Scatter } from '../components/Scatter.jsx';
import './Compare.css';

// Compare many runs (/ui/experiments/<id>/compare?runs=a,b,...): parallel
// coordinates over chosen params and metrics (brushing an axis highlights the
// runs inside every brushed range), a scatter of a param or metric against a
// metric (hover shows the run), and a table of the params whose values differ.
// Each interaction is timed in the page (performance.now around the handler
// and the redraw it causes) and the last one is exposed on <main> as
// data-last-interaction / data-last-interaction-ms.

// More ids than this in the URL: the first MAX_RUNS are compared and the page says so.
const MAX_RUNS = 1000;
const CHUNK = 200; // run ids per runs/search call
const DEFAULT_PARAM_AXES = 6;
const DEFAULT_METRIC_AXES = 4;

async function fetchRuns(expId, ids, signal) {
  const chunks = [];
  for (let i = 0; i < ids.length; i += CHUNK) chunks.push(ids.slice(i, i + CHUNK));
  const pages = await Promise.all(
    chunks.map((c) =>
      mlflowPost(
        '/runs/search',
        {
          experiment_ids: [expId],
          filter: `attributes.run_id IN (${c.map((r) => `'${r.replace(/[^0-9A-Za-z_-]/g, '')}'`).join(',')})`,
          max_results: 1000,
          run_view_type: 'ALL',
        },
        signal,
      ),
    ),
  );
  const byId = new Map();
  for (const p of pages) {
    for (const r of p.runs || []) {
      const params = {};
      for (const x of r.data.params || []) params[x.key] = x.value;
      const metrics = {};
      for (const x of r.data.metrics || []) metrics[x.key] = x.value;
      byId.set(r.info.run_id, { id: r.info.run_id, name: r.info.run_name || r.info.run_id, params, metrics });
    }
  }
  return { runs: ids.filter((r) => byId.has(r)).map((r) => byId.get(r)), missing: ids.filter((r) => !byId.has(r)) };
}

// One row of the param table; re-rendered only when its highlight or the
// shown params change, so a brush's end does not re-render 200 rows.
class ParamRow extends Component {
  shouldComponentUpdate(next) {
    const p = this.props;
    return next.run !== p.run || next.shown !== p.shown || next.brushed !== p.brushed || next.lit !== p.lit;
  }

  render({ run, shown, brushed, lit }) {
    return (
      <tr class={lit ? 'lit' : ''}>
        <th scope="row">
          <a href={`/ui/runs/${encodeURIComponent(run.id)}`}>{run.name}</a>
        </th>
        {brushed && <td>{lit ? 'yes' : ''}</td>}
        {shown.map((k) => (
          <td key={k}>{run.params[k] ?? <span class="muted">(none)</span>}</td>
        ))}
      </tr>
    );
  }
}

const axisId = (a) => `${a.kind}:${a.key}`;
const parseAxis = (v) => {
  const i = v.indexOf(':');
  return { kind: v.slice(0, i), key: v.slice(i + 1) };
};

export function Compare({ id }) {
  const { query } = useLocation();
  const asked = useMemo(() => [...new Set((query.runs || '').split(',').filter(Boolean))], [query.runs]);
  const data = useSignal(null); // {runs, missing, paramKeys, metricKeys, differing}
  const error = useSignal('');
  const axes = useSignal([]);
  const sx = useSignal('');
  const sy = useSignal('');
  const showAll = useSignal(false);
  const brushVersion = useSignal(0);
  const brushes = useRef(new Map()); // axis id -> [lo, hi] in the axis model's units
  const mask = useRef(new Uint8Array(0)); // 1 = highlighted
  const pcHandle = useRef(null);
  const scHandle = useRef(null);
  const mainRef = useRef(null);
  const countRef = useRef(null);
  const perf = useRef({ pending: null, count: 0 });
  const brushDraft = useSignal({ axis: '', lo: '', hi: '' });
  const brushError = useSignal('');

  useEffect(() => {
    const ctl = new AbortController();
    data.value = null;
    error.value = '';
    if (!asked.length) {
      error.value = 'No runs given: select runs in the runs table and press Compare (…/compare?runs=<id>,<id>).';
      return undefined;
    }
    fetchRuns(id, asked.slice(0, MAX_RUNS), ctl.signal)
      .then(({ runs, missing }) => {
        const pk = new Set();
        const mk = new Set();
        for (const r of runs) {
          Object.keys(r.params).forEach((k) => pk.add(k));
          Object.keys(r.metrics).forEach((k) => mk.add(k));
        }
        const paramKeys = [...pk].sort();
        const metricKeys = [...mk].sort();
        // A param differs when the runs do not all have the same value (a run without it counts as different).
        const differing = paramKeys.filter((k) => {
          const first = runs[0]?.params[k];
          return runs.some((r) => r.params[k] !== first);
        });
        mask.current = new Uint8Array(runs.length).fill(1);
        brushes.current = new Map();
        axes.value = [
          ...differing.slice(0, DEFAULT_PARAM_AXES).map((key) => ({ kind: 'params', key })),
          ...metricKeys.slice(0, DEFAULT_METRIC_AXES).map((key) => ({ kind: 'metrics', key })),
        ];
        sx.value = differing.length ? `params:${differing[0]}` : metricKeys.length ? `metrics:${metricKeys[0]}` : '';
        sy.value = metricKeys.length ? `metrics:${metricKeys[metricKeys.length > 1 && !differing.length ? 1 : 0]}` : '';
        data.value = { runs, missing, paramKeys, metricKeys, differing };
      })
      .catch((e) => {
        if (e.name !== 'AbortError') error.value = e.message;
      });
    return () => ctl.abort();
  }, [id, asked]);

  const d = data.value;
  const runs = d ? d.runs : [];

  // Axis models are computed once per (runs, axis) and reused across axis changes.
  const modelCache = useMemo(() => new Map(), [d]);
  const model = (a) => {
    const k = axisId(a);
    if (!modelCache.has(k)) modelCache.set(k, axisModel(runs, a));
    return modelCache.get(k);
  };
  const models = useMemo(() => (d ? axes.value.map(model) : []), [d, axes.value]);
  const xm = d && sx.value ? model(parseAxis(sx.value)) : null;
  const ym = d && sy.value ? model(parseAxis(sy.value)) : null;
  const names = useMemo(() => runs.map((r) => r.name), [d]);

  function record(name, ms) {
    const el = mainRef.current;
    perf.current.count += 1;
    if (el) {
      el.dataset.lastInteraction = name;
      el.dataset.lastInteractionMs = ms.toFixed(1);
      el.dataset.interactions = String(perf.current.count);
    }
  }
  // A handler that redraws the canvases itself (brush moves, hover).
  function track(name, fn) {
    const t0 = performance.now();
    fn();
    record(name, performance.now() - t0);
  }
  // A change that goes through a render: timed from the handler to the end of
  // the commit that redrew the canvases (the page's layout effect runs after
  // its children's, which draw).
  function begin(name) {
    perf.current.pending = { name, t0: performance.now() };
  }
  useLayoutEffect(() => {
    const p = perf.current.pending;
    if (!p) return;
    perf.current.pending = null;
    record(p.name, performance.now() - p.t0);
  });

  function recomputeMask() {
    const m = mask.current;
    m.fill(1);
    for (const [aid, [lo, hi]] of brushes.current) {
      const mod = modelCache.get(aid);
      if (!mod) continue;
      const v = mod.values;
      for (let i = 0; i < v.length; i++) if (!(v[i] >= lo && v[i] <= hi)) m[i] = 0;
    }
    let n = 0;
    for (let i = 0; i < m.length; i++) n += m[i];
    return n;
  }

  function litText(n) {
    return brushes.current.size ? `${n} of ${runs.length} runs inside the brushed ranges` : `all ${runs.length} runs highlighted (no brush)`;
  }

  function applyBrush(aid, range) {
    if (range) brushes.current.set(aid, range);
    else brushes.current.delete(aid);
    const n = recomputeMask();
    pcHandle.current?.redraw();
    scHandle.current?.redraw();
    if (countRef.current) countRef.current.textContent = litText(n);
  }

  // A brush move redraws the canvases only; its end also re-renders the
  // brush list and the table's marks, timed through that render.
  function onBrush(aid, range, done) {
    if (!done) {
      track('brush', () => applyBrush(aid, range));
      return;
    }
    begin('brush-end');
    applyBrush(aid, range);
    brushVersion.value += 1;
  }

  function setAxis(a, on) {
    begin('axis');
    const k = axisId(a);
    const rest = axes.value.filter((x) => axisId(x) !== k);
    axes.value = on ? [...rest, a] : rest;
    if (!on && brushes.current.has(k)) {
      brushes.current.delete(k);
      recomputeMask();
      brushVersion.value += 1;
    }
  }

  function submitBrush(e) {
    e.preventDefault();
    const { lo, hi } = brushDraft.value;
    const m = draftModel;
    if (!m) return;
    const a = m.cats ? (lo === '' ? NaN : Number(lo)) : toModelUnits(m, parseFloat(lo));
    const b = m.cats ? (hi === '' ? NaN : Number(hi)) : toModelUnits(m, parseFloat(hi));
    if (!Number.isFinite(a) || !Number.isFinite(b)) {
      brushError.value = m.log ? 'Enter two positive numbers (this axis is logarithmic).' : 'Enter two numbers, or pick both ends.';
      return;
    }
    brushError.value = '';
    onBrush(m.id, [Math.min(a, b), Math.max(a, b)], true);
  }

  const lit = (brushVersion.value, d ? recomputeMask() : 0);
  const shownParams = d ? (showAll.value ? d.paramKeys : d.differing) : [];
  const brushed = brushes.current.size > 0;
  const draftModel = models.find((m) => m.id === brushDraft.value.axis) || models[0];
  const notes = d
    ? [...new Map([...models, ...(xm ? [xm] : []), ...(ym ? [ym] : [])].map((m) => [m.id, m])).values()].filter(
        (m) => m.missing || m.nonFinite,
      )
    : [];

  return (
    <main id="main" class="compare" ref={mainRef} data-testid="compare">
      <p class="crumbs">
        <a href={`/ui/experiments/${encodeURIComponent(id)}`}>← Runs of experiment {id}</a>
      </p>
      <h1>
        Compare <span class="muted">{d ? `${runs.length} runs` : `${asked.length} runs asked`}</span>
      </h1>
      {error.value && (
        <p role="alert" class="error">
          {error.value}
        </p>
      )}
      {!d && !error.value && <p aria-live="polite">Loading…</p>}
      {d && asked.length > MAX_RUNS && (
        <p class="error" role="status">
          {asked.length} runs were asked; the first {MAX_RUNS} are compared.
        </p>
      )}
      {d && d.missing.length > 0 && (
        <p class="error" role="status" data-testid="missing-runs">
          {d.missing.length} of the asked runs were not found in experiment {id}: {d.missing.slice(0, 5).join(', ')}
          {d.missing.length > 5 ? ', …' : ''}
        </p>
      )}
      {d && (
        <>
          <section aria-labelledby="pc-title">
            <h2 id="pc-title">Parallel coordinates</h2>
            <div class="pc-tools">
              <details class="columns axes">
                <summary>Axes ({axes.value.length})</summary>
                <div class="picker">
                  {[
                    ['params', 'Parameters', d.paramKeys],
                    ['metrics', 'Metrics (latest value)', d.metricKeys],
                  ].map(([kind, legend, list]) => (
                    <fieldset key={kind}>
                      <legend>{legend}</legend>
                      {list.length === 0 && <p class="muted">none</p>}
                      {list.map((key) => (
                        <label key={key} class="check">
                          <input
                            type="checkbox"
                            checked={axes.value.some((a) => a.kind === kind && a.key === key)}
                            onChange={(e) => setAxis({ kind, key }, e.currentTarget.checked)}
                          />
                          {key}
                          {kind === 'params' && !d.differing.includes(key) ? <span class="muted"> (same in all)</span> : null}
                        </label>
                      ))}
                    </fieldset>
                  ))}
                </div>
              </details>
              <p class="muted" aria-live="polite" ref={countRef} data-testid="highlighted">
                {litText(lit)}
              </p>
            </div>
            {models.length === 0 ? (
              <p class="muted">No axes chosen.</p>
            ) : (
              <ParallelCoords
                models={models}
                mask={mask}
                brushes={brushes}
                onBrush={onBrush}
                handle={pcHandle}
                label={`Parallel coordinates of ${runs.length} runs over ${models.map((m) => m.label).join(', ')}; drag along an axis to brush a range`}
              />
            )}
            <form class="brush-form" onSubmit={submitBrush} aria-label="Brush an axis">
              <label for="brush-axis">Brush axis</label>
              <select
                id="brush-axis"
                value={draftModel?.id || ''}
                onChange={(e) => (brushDraft.value = { axis: e.currentTarget.value, lo: '', hi: '' })}
              >
                {models.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.label}
                  </option>
                ))}
              </select>
              {draftModel?.cats ? (
                ['lo', 'hi'].map((end) => (
                  <select
                    key={end}
                    aria-label={end === 'lo' ? 'From' : 'To'}
                    value={brushDraft.value[end]}
                    onChange={(e) => (brushDraft.value = { ...brushDraft.value, axis: draftModel.id, [end]: e.currentTarget.value })}
                  >
                    <option value="">—</option>
                    {draftModel.cats.map((c, i) => (
                      <option key={c} value={String(i)}>
                        {c}
                      </option>
                    ))}
                  </select>
                ))
              ) : (
                ['lo', 'hi'].map((end) => (
                  <input
                    key={end}
                    type="text"
                    inputmode="decimal"
                    size={8}
                    aria-label={end === 'lo' ? 'From' : 'To'}
                    placeholder={draftModel ? axisValueLabel(draftModel, end === 'lo' ? draftModel.min : draftModel.max) : ''}
                    value={brushDraft.value[end]}
                    onInput={(e) => (brushDraft.value = { ...brushDraft.value, axis: draftModel?.id || '', [end]: e.currentTarget.value })}
                  />
                ))
              )}
              <button type="submit" disabled={!draftModel}>
                Brush
              </button>
              {brushed && (
                <button
                  type="button"
                  onClick={() => {
                    begin('brush-clear');
                    brushes.current.clear();
                    applyBrush('', null);
                    brushVersion.value += 1;
                  }}
                >
                  Clear brushes
                </button>
              )}
              {brushError.value && (
                <span class="error" role="alert">
                  {brushError.value}
                </span>
              )}
            </form>
            {brushed && (
              <ul class="brushes" data-testid="brushes">
                {[...brushes.current].map(([aid, [lo, hi]]) => {
                  const m = modelCache.get(aid);
                  return (
                    <li key={aid} data-axis={aid} data-range={JSON.stringify([lo, hi])}>
                      {m?.label}: {m ? axisValueLabel(m, m.cats ? Math.ceil(lo) : lo) : lo} – {m ? axisValueLabel(m, m.cats ? Math.floor(hi) : hi) : hi}{' '}
                      <button
                        type="button"
                        class="link"
                        aria-label={`Clear the brush on ${m?.label}`}
                        onClick={() => onBrush(aid, null, true)}
                      >
                        clear
                      </button>
                    </li>
                  );
                })}
              </ul>
            )}
          </section>

          <section aria-labelledby="sc-title">
            <h2 id="sc-title">Scatter</h2>
            <div class="toolbar">
              <label for="scatter-x">x</label>
              <select
                id="scatter-x"
                value={sx.value}
                onChange={(e) => {
                  begin('scatter-axis');
                  sx.value = e.currentTarget.value;
                }}
              >
                {d.paramKeys.map((k) => (
                  <option key={'p' + k} value={`params:${k}`}>
                    param {k}
                  </option>
                ))}
                {d.metricKeys.map((k) => (
                  <option key={'m' + k} value={`metrics:${k}`}>
                    metric {k}
                  </option>
                ))}
              </select>
              <label for="scatter-y">y</label>
              <select
                id="scatter-y"
                value={sy.value}
                onChange={(e) => {
                  begin('scatter-axis');
                  sy.value = e.currentTarget.value;
                }}
              >
                {d.metricKeys.map((k) => (
                  <option key={k} value={`metrics:${k}`}>
                    metric {k}
                  </option>
                ))}
              </select>
            </div>
            {xm && ym ? (
              <Scatter
                xm={xm}
                ym={ym}
                mask={mask}
                names={names}
                handle={scHandle}
                track={track}
                label={`Scatter of ${ym.label} against ${xm.label} for ${runs.length} runs; hover, or focus and press the arrow keys, to show a run`}
              />
            ) : (
              <p class="muted">The runs have no metrics to plot.</p>
            )}
          </section>

          {notes.length > 0 && (
            <ul class="notes muted" data-testid="axis-notes">
              {notes.map((m) => (
                <li key={m.id}>
                  {m.label}: {m.missing ? `${m.missing} ${m.missing === 1 ? 'run' : 'runs'} without a value` : ''}
                  {m.missing && m.nonFinite ? ', ' : ''}
                  {m.nonFinite ? `${m.nonFinite} ${m.nonFinite === 1 ? 'run' : 'runs'} with NaN or ±Infinity` : ''} — not drawn on this axis
                </li>
              ))}
            </ul>
          )}

          <section aria-labelledby="params-title">
            <h2 id="params-title">Parameters</h2>
            <div class="toolbar">
              <label class="check inline">
                <input type="checkbox" checked={showAll.value} onChange={(e) => (showAll.value = e.currentTarget.checked)} />
                show all {d.paramKeys.length} params
              </label>
              <span class="muted" data-testid="param-summary">
                {d.differing.length} of {d.paramKeys.length} params differ across the {runs.length} runs
                {showAll.value ? '' : '; only those are shown'}
              </span>
            </div>
            <div class="param-table" tabindex={0} role="region" aria-label="Parameters of the compared runs">
              <table class="list" data-testid="param-table">
                <thead>
                  <tr>
                    <th scope="col">Run</th>
                    {brushed && <th scope="col">Brushed</th>}
                    {shownParams.map((k) => (
                      <th scope="col" key={k} class={d.differing.includes(k) ? '' : 'same'}>
                        {k}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {runs.map((r, i) => (
                    <ParamRow key={r.id} run={r} shown={shownParams} brushed={brushed} lit={brushed && mask.current[i] === 1} />
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        </>
      )}
    </main>
  );
}

export const routes = [{ path: '/ui/experiments/:id/compare', component: Compare }];
