// A uPlot chart of one metric's history for one or many runs, drawn from the
// server's min/max buckets for the visible x range (metricData.js): every
// bucket's min and max are drawn as a band with its edges stroked, so a
// one-point spike stays visible at any zoom, and the (optionally smoothed)
// bucket means as the line. Dragging over the plot, the zoom buttons or the
// keyboard (+, -, arrows, 0 on the focused plot) narrow or widen the range,
// which asks the server again for buckets of that range; double-click or
// "Reset zoom" returns to the whole history.
//
// For tests the chart element carries what was measured and drawn:
// data-state (loading|ready|empty|error), data-draw-ms (performance.now()
// from uPlot's drawClear hook to its draw hook: the canvas work of the last
// paint), data-render-ms (from handing the data to uPlot to that draw hook),
// data-fetch-ms, data-draws, data-max-y / data-min-y (extremes of what was
// drawn inside the x range), data-points, data-x-min / data-x-max and
// data-y-min / data-y-max (the scales), data-y-scale (linear|log),
// data-bucket-width / data-buckets / data-range-count (the first series), and
// data-summary (JSON: per series label, role, points, min, max).
import { useEffect, useRef, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './MetricChart.css';
import { buildColumns, drawnSummary, extentOf, loadChart, MAX_BUCKETS } from './metricData.js';

export const PALETTE = ['#0b5cad', '#c4431a', '#1a7f37', '#8250df', '#9a6700', '#bf3989', '#0a7c86', '#6e4c13', '#57606a', '#a40e26'];

let uPlotModule = null;
function loadUPlot() {
  uPlotModule ||= import('uplot').then((m) => m.default);
  return uPlotModule;
}

function alpha(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

export function fmt(v) {
  if (v === null || v === undefined) return '–';
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e9)) return v.toExponential(4);
  return String(Number(v.toPrecision(6)));
}

function xLabel(x) {
  if (x.kind === 'time') return 'relative time (s)';
  if (x.kind === 'metric') return x.key;
  return 'step';
}

// Display units <-> query units (steps, or ms for relative time).
function toQuery(x, a, b, series) {
  if (x.kind === 'time') return { lo: Math.floor(a * 1000), hi: Math.ceil(b * 1000) };
  if (x.kind === 'step') return { lo: Math.floor(a), hi: Math.ceil(b) };
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (const p of s.points) {
      if (p.x >= a && p.x <= b) {
        lo = Math.min(lo, p.stepLo ?? p.xStart);
        hi = Math.max(hi, p.stepHi ?? p.xEnd);
      }
    }
  }
  return Number.isFinite(lo) ? { lo, hi } : null;
}

function clampZoom(z, extent) {
  if (!z || !extent) return z;
  let lo = Math.max(extent.lo, Math.round(z.lo));
  let hi = Math.min(extent.hi, Math.round(z.hi));
  if (hi - lo < 1) {
    hi = Math.min(extent.hi, lo + 1);
    lo = Math.max(extent.lo, hi - 1);
  }
  if (lo <= extent.lo && hi >= extent.hi) return null; // the whole history
  return { lo, hi };
}

// Props:
//   runs: [{id, label, color}]  metric: key  x: {kind: 'step'|'time'|'metric', key}
//   smoothing: 0..0.99  logY: bool  groups: null | [{label, color, runIds}]
//   height: px
export function MetricChart({ runs, metric, x, smoothing = 0, logY = false, groups = null, height = 380 }) {
  const wrapRef = useRef(null);
  const plotRef = useRef(null);
  const readoutRef = useRef(null);
  const st = useRef({ u: null, structure: '', draws: 0, t0: 0, tRender: 0, specs: [], data: null, view: null, offsets: null, seq: 0, drawSeq: 0 });
  const [zoom, setZoom] = useState(null);
  const [loaded, setLoaded] = useState(null); // {series, extent, ...} for the current runs/metric/x
  const [status, setStatus] = useState({ state: 'loading', error: '' });
  const [drawInfo, setDrawInfo] = useState(null);

  const runIds = runs.map((r) => r.id);
  // data-state is written here and by the draw hook, not rendered: "ready"
  // means uPlot has painted the latest data.
  const markState = (state) => {
    if (wrapRef.current) wrapRef.current.dataset.state = state;
  };
  const identity = `${runIds.join(',')}|${metric}|${x.kind}:${x.key || ''}`;

  // A different chart: forget the zoom and the time offsets.
  useEffect(() => {
    setZoom(null);
    st.current.offsets = null;
    setLoaded(null);
  }, [identity]);

  useEffect(() => {
    if (!runIds.length || !metric) return undefined;
    const ctl = new AbortController();
    const width = wrapRef.current?.clientWidth || 800;
    setStatus({ state: 'loading', error: '' });
    markState('loading');
    const t = performance.now();
    loadChart({
      runIds,
      key: metric,
      x,
      zoom,
      buckets: Math.min(MAX_BUCKETS, Math.max(100, width)),
      offsets: st.current.offsets,
      signal: ctl.signal,
    })
      .then((res) => {
        if (ctl.signal.aborted) return;
        st.current.offsets = res.offsets;
        res.fetchMs = performance.now() - t;
        setLoaded({ ...res, identity, zoom, seq: ++st.current.seq });
      })
      .catch((e) => {
        if (e.name === 'AbortError' || ctl.signal.aborted) return;
        setStatus({ state: 'error', error: e.message });
        markState('error');
      });
    return () => ctl.abort();
  }, [identity, zoom?.lo, zoom?.hi]);

  // Draw (or redraw) whenever the data or a drawing option changes.
  useEffect(() => {
    if (!loaded || loaded.identity !== identity) return undefined;
    let cancelled = false;
    const labels = {};
    runs.forEach((r, i) => (labels[r.id] = { label: r.label, color: r.color || PALETTE[i % PALETTE.length] }));
    const built = buildColumns(loaded.series, { labels, groups: x.kind === 'metric' ? null : groups, smoothing, logY });
    const any = loaded.series.some((s) => s.points.length);
    if (!any) {
      st.current.u?.destroy();
      st.current.u = null;
      st.current.structure = '';
      setStatus({ state: 'empty', error: '' });
      setDrawInfo({ built, loaded });
      markState('empty');
      return undefined;
    }
    loadUPlot().then((uPlot) => {
      if (cancelled) return;
      const s = st.current;
      const ext = loaded.extent;
      const z = loaded.zoom;
      // The x range shown: the zoom (or the whole history), in display units.
      let view = null;
      if (x.kind === 'step') view = z ? { min: z.lo, max: z.hi } : ext && { min: ext.lo, max: ext.hi };
      if (x.kind === 'time') view = z ? { min: z.lo / 1000, max: z.hi / 1000 } : ext && { min: ext.lo / 1000, max: ext.hi / 1000 };
      if (view && view.max <= view.min) view = { min: view.min - 0.5, max: view.max + 0.5 };
      s.view = view;
      s.data = built.data;
      s.specs = built.specs;
      const structure = JSON.stringify([built.specs.map((p) => [p.label, p.role, p.color]), built.bands.length, logY, x.kind, x.key, height]);
      s.tRender = performance.now();
      s.drawSeq = loaded.seq;
      markState('drawing');
      if (s.u && s.structure === structure) {
        s.u.batch(() => {
          s.u.setData(built.data, true);
        });
      } else {
        s.u?.destroy();
        s.structure = structure;
        s.u = new uPlot(chartOptions(uPlot, built, { width: wrapRef.current.clientWidth || 800, height, logY, x }), built.data, plotRef.current);
        s.u.over.addEventListener('dblclick', () => setZoom(null));
      }
      setStatus({ state: 'ready', error: '' });
      setDrawInfo({ built, loaded });
    });
    return () => {
      cancelled = true;
    };
  }, [loaded, smoothing, logY, groups, height]);

  useEffect(() => () => st.current.u?.destroy(), []);

  useEffect(() => {
    if (!wrapRef.current || typeof ResizeObserver === 'undefined') return undefined;
    const ro = new ResizeObserver(() => {
      const u = st.current.u;
      const w = wrapRef.current?.clientWidth;
      if (u && w && Math.abs(u.width - w) > 1) u.setSize({ width: w, height });
    });
    ro.observe(wrapRef.current);
    return () => ro.disconnect();
  }, [height]);

  function chartOptions(uPlot, built, { width, height: h, logY: log, x: xs }) {
    const series = [{ label: xLabel(xs) }];
    built.specs.slice(1).forEach((p) => {
      const edge = p.role === 'max' || p.role === 'min';
      series.push({
        label: p.label,
        stroke: edge ? alpha(p.color, 0.6) : p.role === 'member' ? alpha(p.color, 0.45) : p.color,
        width: p.role === 'mean' ? (p.runId ? 1.5 : 2.5) : 1,
        spanGaps: true,
        // Edges never get dots; lines get uPlot's own rule (dots only when
        // the points are far apart, e.g. a short run beside a long one).
        ...(edge ? { points: { show: false } } : {}),
      });
    });
    return {
      width,
      height: h,
      legend: { show: false },
      scales: {
        x: {
          time: false,
          range: (u, dmin, dmax) => {
            const v = st.current.view;
            if (v) return [v.min, v.max];
            return dmin === dmax ? [dmin - 0.5, dmax + 0.5] : [dmin, dmax];
          },
        },
        // Whole decades on a log axis (uPlot's default rounds to the nearest tick).
        y: log ? { distr: 3, log: 10, range: (u, dmin, dmax) => (dmin === null ? [1, 10] : uPlot.rangeLog(dmin, dmax, 10, true)) } : {},
      },
      axes: [
        { label: xLabel(xs), stroke: '#1b1f24', grid: { stroke: '#e4e8ec' }, ticks: { stroke: '#d0d7de' } },
        { stroke: '#1b1f24', grid: { stroke: '#e4e8ec' }, ticks: { stroke: '#d0d7de' }, size: 64 },
      ],
      series,
      bands: built.bands.map((b) => ({ series: b.series, fill: alpha(b.color, 0.16) })),
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      hooks: {
        drawClear: [() => (st.current.t0 = performance.now())],
        draw: [(u) => afterDraw(u)],
        setSelect: [
          (u) => {
            if (u.select.width < 3) return;
            const a = u.posToVal(u.select.left, 'x');
            const b = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            st.current.handlers.zoomToDisplay(a, b);
          },
        ],
        setCursor: [(u) => st.current.handlers.showReadout(u)],
      },
    };
  }

  function afterDraw(u) {
    const s = st.current;
    const now = performance.now();
    const drawMs = now - s.t0;
    const renderMs = s.tRender ? now - s.tRender : drawMs;
    s.tRender = 0;
    s.draws++;
    const el = wrapRef.current;
    if (!el) return;
    const sum = drawnSummary(u.data, s.specs, u.scales.x.min, u.scales.x.max);
    const d = el.dataset;
    d.drawMs = drawMs.toFixed(2);
    d.renderMs = renderMs.toFixed(2);
    d.draws = String(s.draws);
    d.points = String(sum.points);
    d.maxY = sum.max === null ? '' : String(sum.max);
    d.minY = sum.min === null ? '' : String(sum.min);
    d.xMin = String(u.scales.x.min);
    d.xMax = String(u.scales.x.max);
    d.yMin = String(u.scales.y.min);
    d.yMax = String(u.scales.y.max);
    d.summary = JSON.stringify(sum.series);
    d.drawnSeq = String(s.drawSeq);
    d.state = 'ready';
  }

  function showReadout(u) {
    const el = readoutRef.current;
    if (!el) return;
    const i = u.cursor.idx;
    if (i === null || i === undefined) {
      el.textContent = '';
      return;
    }
    const s = st.current;
    const parts = [`${xLabel(x)} ${fmt(u.data[0][i])}`];
    for (let k = 1; k < u.data.length && parts.length < 7; k++) {
      const p = s.specs[k];
      if (p.role !== 'mean') continue;
      const v = u.data[k][i];
      if (v === null) continue;
      const lo = u.data[k - 1][i];
      const hi = u.data[k - 2][i];
      parts.push(`${p.label}: ${fmt(v)}${lo !== null && hi !== null ? ` [${fmt(lo)} … ${fmt(hi)}]` : ''}`);
    }
    el.textContent = parts.join(' · ');
  }

  function current() {
    const ext = loaded?.extent;
    return { ext, view: zoom || ext };
  }

  function zoomToDisplay(a, b) {
    if (!loaded) return;
    const z = toQuery(x, Math.min(a, b), Math.max(a, b), loaded.series);
    if (z) setZoom(clampZoom(z, loaded.extent));
  }

  function zoomBy(factor) {
    const { ext, view } = current();
    if (!view) return;
    const c = (view.lo + view.hi) / 2;
    const half = Math.max(0.5, ((view.hi - view.lo) / 2) * factor);
    setZoom(clampZoom({ lo: Math.floor(c - half), hi: Math.ceil(c + half) }, ext));
  }

  function pan(dir) {
    const { ext, view } = current();
    if (!view || !ext) return;
    const w = view.hi - view.lo;
    let lo = view.lo + dir * Math.max(1, Math.round(w / 4));
    lo = Math.max(ext.lo, Math.min(ext.hi - w, lo));
    setZoom(clampZoom({ lo, hi: lo + w }, ext));
  }

  function onKey(e) {
    const keys = { '+': () => zoomBy(0.5), '=': () => zoomBy(0.5), '-': () => zoomBy(2), ArrowLeft: () => pan(-1), ArrowRight: () => pan(1), 0: () => setZoom(null), Home: () => setZoom(null) };
    const fn = keys[e.key];
    if (fn) {
      e.preventDefault();
      fn();
    }
  }

  st.current.handlers = { zoomToDisplay, showReadout };

  const first = loaded?.series?.[0];
  const built = drawInfo?.built;
  const noData = loaded ? loaded.series.filter((s) => !s.totalCount) : [];
  const labelOf = (id) => runs.find((r) => r.id === id)?.label || id;
  const rangeText = (() => {
    if (!loaded) return '';
    const z = loaded.zoom;
    const ext = loaded.extent;
    const r = z || ext;
    if (!r) return '';
    if (x.kind === 'time') return `${fmt(r.lo / 1000)} s – ${fmt(r.hi / 1000)} s`;
    return `steps ${fmt(r.lo)} – ${fmt(r.hi)}`;
  })();
  const zoomed = !!zoom;

  return (
    <figure class="metric-chart">
      <div class="chart-tools" role="toolbar" aria-label="Chart zoom">
        <button type="button" onClick={() => zoomBy(0.5)} disabled={!loaded?.extent}>
          Zoom in
        </button>
        <button type="button" onClick={() => zoomBy(2)} disabled={!zoomed}>
          Zoom out
        </button>
        <button type="button" onClick={() => pan(-1)} disabled={!zoomed} aria-label="Pan left">
          ← Pan
        </button>
        <button type="button" onClick={() => pan(1)} disabled={!zoomed} aria-label="Pan right">
          Pan →
        </button>
        <button type="button" onClick={() => setZoom(null)} disabled={!zoomed}>
          Reset zoom
        </button>
        <span class="muted" data-testid="chart-range">
          {rangeText}
          {zoomed ? ' (zoomed)' : ''}
        </span>
      </div>
      <div
        ref={wrapRef}
        class="chart-plot"
        data-testid="metric-chart"
        data-y-scale={logY ? 'log' : 'linear'}
        data-x-kind={x.kind}
        data-bucket-width={first?.width ?? ''}
        data-buckets={first?.bucketCount ?? ''}
        data-range-count={first?.rangeCount ?? ''}
        data-total-count={first?.totalCount ?? ''}
        data-fetch-ms={loaded?.fetchMs?.toFixed(1) ?? ''}
        data-requests={loaded?.requests?.length ?? ''}
        data-seq={loaded?.seq ?? ''}
        tabIndex={0}
        role="img"
        aria-label={`Chart of ${metric} against ${xLabel(x)} for ${runs.length} run${runs.length === 1 ? '' : 's'}; drag to zoom, or press plus, minus, the arrow keys and 0`}
        onKeyDown={onKey}
      >
        <div ref={plotRef} />
      </div>
      <div class="chart-readout muted" ref={readoutRef} aria-hidden="true" />
      <figcaption>
        <p aria-live="polite" class="chart-status" data-testid="chart-status">
          {status.state === 'loading' && 'Loading buckets…'}
          {status.state === 'error' && <span class="error" role="alert">{status.error}</span>}
          {status.state === 'empty' && `None of these runs logged ${metric}${zoomed ? ' in this range' : ''}.`}
          {status.state === 'ready' &&
            first &&
            `${fmt(loaded.series.reduce((a, s) => a + (s.rangeCount || 0), 0))} points in range, drawn as ${fmt(
              loaded.series.reduce((a, s) => a + s.bucketCount, 0),
            )} min/max buckets${first.width ? ` (${labelOf(first.runId)}: ${fmt(first.width)} ${x.kind === 'time' ? 'ms' : first.width === 1 ? 'step' : 'steps'} per bucket)` : ''}.`}
        </p>
        {built && (built.hidden > 0 || built.nonFinite > 0) && (
          <p class="chart-note" data-testid="chart-note">
            {built.hidden > 0 && `${fmt(built.hidden)} values ≤ 0 are not drawn on the log scale. `}
            {built.nonFinite > 0 && `${fmt(built.nonFinite)} infinite values are not drawn.`}
          </p>
        )}
        {noData.length > 0 && (
          <p class="chart-note" data-testid="chart-missing">
            No {metric} logged by: {noData.map((s) => labelOf(s.runId)).join(', ')}.
          </p>
        )}
        {loaded?.series?.some((s) => s.unpaired) && (
          <p class="chart-note">
            Buckets without a value of {x.key} over the same steps are not drawn ({fmt(loaded.series.reduce((a, s) => a + (s.unpaired || 0), 0))}).
          </p>
        )}
        {groups && x.kind === 'metric' && <p class="chart-note">Grouping needs x = step or time; runs are drawn one by one.</p>}
        <Legend runs={runs} groups={x.kind === 'metric' ? null : groups} series={loaded?.series} />
      </figcaption>
    </figure>
  );
}

function Legend({ runs, groups, series }) {
  const byId = new Map((series || []).map((s) => [s.runId, s]));
  const count = (id) => {
    const s = byId.get(id);
    return s ? `${fmt(s.totalCount)} points` : '';
  };
  if (groups) {
    return (
      <ul class="chart-legend" data-testid="chart-legend">
        {groups.map((g) => (
          <li key={g.label}>
            <span class="swatch" style={{ background: g.color }} aria-hidden="true" />
            <strong>{g.label}</strong> <span class="muted">({g.runIds.length} run{g.runIds.length === 1 ? '' : 's'}: mean line, min–max band; members thin)</span>
            <span class="members">
              {g.runIds.map((id) => runs.find((r) => r.id === id)?.label || id).join(', ')}
            </span>
          </li>
        ))}
      </ul>
    );
  }
  return (
    <ul class="chart-legend" data-testid="chart-legend">
      {runs.map((r, i) => (
        <li key={r.id}>
          <span class="swatch" style={{ background: r.color || PALETTE[i % PALETTE.length] }} aria-hidden="true" />
          {r.label} <span class="muted">{count(r.id)}</span>
        </li>
      ))}
    </ul>
  );
}

export { extentOf };
