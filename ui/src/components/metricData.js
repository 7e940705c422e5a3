// Metric histories for charts: the server's min/max buckets
// (/api/2.0/kiln/ui/metric-buckets, docs/tracking.md) fetched for the visible
// x range, normalised per run, then turned into uPlot's aligned columns.
// Pure functions apart from the fetches; MetricChart.jsx draws the result.
import { apiRequest } from '../api.js';

const BUCKETS_PATH = '/api/2.0/kiln/ui/metric-buckets';
export const MAX_RUNS_PER_CALL = 100; // the endpoint's limit
export const MAX_BUCKETS = 2000;
const PARALLEL_CALLS = 6;

// Protobuf-JSON doubles: NaN and the infinities arrive as strings.
export function num(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    return Number(v);
  }
  return v;
}

function chunks(list, n) {
  const out = [];
  for (let i = 0; i < list.length; i += n) out.push(list.slice(i, i + n));
  return out;
}

async function limited(tasks, n) {
  const results = new Array(tasks.length);
  let next = 0;
  async function worker() {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, worker));
  return results;
}

// One call per 100 runs sharing one query; series come back in the order asked.
async function bucketsFor(runIds, query, signal, onRequest) {
  const parts = await limited(
    chunks(runIds, MAX_RUNS_PER_CALL).map((ids) => () => {
      const q = { ...query, run_ids: ids.join(',') };
      onRequest?.(q);
      return apiRequest('GET', BUCKETS_PATH, { query: q, signal });
    }),
    PARALLEL_CALLS,
  );
  return parts.flatMap((p) => p.series || []);
}

function center(b) {
  return b.x_start + (b.x_end - b.x_start) / 2;
}

function normalise(s, xOf) {
  const points = [];
  let nanOnly = 0;
  for (const b of s.buckets || []) {
    const x = xOf(b);
    if (x === null || !Number.isFinite(x)) continue;
    const min = num(b.min);
    const max = num(b.max);
    const mean = num(b.mean);
    if (min === null) nanOnly++;
    points.push({ x, min, max, mean, count: b.count, stepLo: b.first?.step, stepHi: b.last?.step, xStart: b.x_start, xEnd: b.x_end });
  }
  points.sort((a, b) => a.x - b.x);
  return {
    runId: s.run_id,
    totalCount: s.total_count,
    rangeCount: s.range_count,
    xMin: s.x_min,
    xMax: s.x_max,
    start: s.start,
    end: s.end,
    width: s.bucket_width,
    bucketCount: (s.buckets || []).length,
    nanOnly,
    points,
  };
}

// The history's full extent in query units: steps, or ms since each run's
// first point for relative time.
export function extentOf(raw, mode) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of raw) {
    if (s.x_min === null || s.x_min === undefined) continue;
    if (mode === 'time') {
      lo = 0;
      hi = Math.max(hi, s.x_max - s.x_min);
    } else {
      lo = Math.min(lo, s.x_min);
      hi = Math.max(hi, s.x_max);
    }
  }
  return Number.isFinite(lo) ? { lo, hi } : null;
}

function samePlans(raw) {
  const withPlan = raw.filter((s) => s.start !== null && s.start !== undefined);
  if (withPlan.length < 2) return true;
  return withPlan.every((s) => s.start === withPlan[0].start && s.end === withPlan[0].end);
}

// Fetches what one chart shows.
//   runIds, key: the runs (order kept) and the metric
//   x: {kind: 'step' | 'time' | 'metric', key}  (time: relative to each run's first point)
//   zoom: null (the whole history) or {lo, hi} in query units (steps; ms for time)
//   buckets: how many buckets the plot's width can show
//   offsets: run id -> the run's first timestamp (known after an unzoomed time load)
// Returns {series: [normalised], raw, extent, offsets, requests}.
export async function loadChart({ runIds, key, x, zoom, buckets, offsets, signal, onRequest }) {
  const requests = [];
  const track = (q) => {
    requests.push(q);
    onRequest?.(q);
  };
  const n = Math.max(1, Math.min(MAX_BUCKETS, Math.round(buckets)));
  if (x.kind === 'time') {
    let raw;
    const known = offsets && runIds.every((id) => offsets[id] !== undefined);
    if (zoom && known) {
      raw = await zoomedTime(runIds, key, zoom, n, offsets, signal, track);
    } else {
      raw = await bucketsFor(runIds, { key, x: 'time', buckets: n }, signal, track);
      const extent = extentOf(raw, 'time');
      const spans = new Set(raw.filter((s) => s.x_min !== null).map((s) => s.x_max - s.x_min));
      offsets = Object.fromEntries(raw.filter((s) => s.x_min !== null).map((s) => [s.run_id, s.x_min]));
      // Runs of different lengths got plans of different widths: ask again
      // over one common relative range so their buckets line up.
      if (spans.size > 1 && extent) raw = await zoomedTime(runIds, key, extent, n, offsets, signal, track);
    }
    const off = offsets || {};
    const series = raw.map((s) => normalise(s, (b) => (off[s.run_id] === undefined ? null : (center(b) - off[s.run_id]) / 1000)));
    return { series, raw, extent: extentOf(raw, 'time'), offsets: off, requests };
  }

  const q = { key, buckets: n };
  if (zoom) Object.assign(q, { start: zoom.lo, end: zoom.hi });
  let raw = await bucketsFor(runIds, q, signal, track);
  const extent = extentOf(raw, 'step');
  if (!zoom && extent && !samePlans(raw)) {
    // Histories of different lengths: one common step range, so every run's
    // buckets share their bounds (group bands and the x axis need that).
    raw = await bucketsFor(runIds, { key, buckets: n, start: extent.lo, end: extent.hi }, signal, track);
  }
  if (x.kind === 'step') {
    return { series: raw.map((s) => normalise(s, center)), raw, extent, offsets, requests };
  }

  // x = another metric: the same step plan asked for that metric pairs every
  // bucket with the mean of the x metric over the same steps.
  const byPlan = new Map();
  raw.forEach((s) => {
    if (s.start === null || s.start === undefined) return;
    const k = `${s.start},${s.end}`;
    if (!byPlan.has(k)) byPlan.set(k, { start: s.start, end: s.end, ids: [] });
    byPlan.get(k).ids.push(s.run_id);
  });
  const xSeries = new Map();
  for (const plan of byPlan.values()) {
    const got = await bucketsFor(plan.ids, { key: x.key, buckets: n, start: plan.start, end: plan.end }, signal, track);
    got.forEach((s) => xSeries.set(`${s.run_id}@${plan.start},${plan.end}`, s));
  }
  const series = raw.map((s) => {
    const xs = xSeries.get(`${s.run_id}@${s.start},${s.end}`);
    const byStart = new Map((xs?.buckets || []).map((b) => [b.x_start, num(b.mean)]));
    const norm = normalise(s, (b) => (byStart.has(b.x_start) ? byStart.get(b.x_start) : null));
    norm.unpaired = (s.buckets || []).length - norm.points.length;
    return norm;
  });
  return { series, raw, extent, offsets, requests };
}

async function zoomedTime(runIds, key, zoom, n, offsets, signal, track) {
  const parts = await limited(
    runIds.map((id) => () => {
      const q = { run_ids: id, key, x: 'time', buckets: n, start: offsets[id] + zoom.lo, end: offsets[id] + zoom.hi };
      track(q);
      return apiRequest('GET', BUCKETS_PATH, { query: q, signal });
    }),
    PARALLEL_CALLS,
  );
  return parts.flatMap((p) => p.series || []);
}

// TensorBoard's smoothing: an exponential moving average with its start-up
// bias removed, over the finite values in x order (gaps stay gaps).
export function ema(values, weight) {
  if (!weight) return values;
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - Math.pow(weight, n));
  });
}

// uPlot's aligned data and series descriptions.
//   series: loadChart's normalised series; labels: run id -> {label, color}
//   groups: null or [{label, color, runIds}]
//   smoothing: 0..0.99 (applied to bucket means; min/max stay raw)
//   logY: non-positive values cannot be drawn on a log axis and are left out (counted)
export function buildColumns(series, { labels, groups, smoothing, logY }) {
  const xsSet = new Set();
  for (const s of series) for (const p of s.points) xsSet.add(p.x);
  const xs = Float64Array.from(xsSet).sort();
  const at = new Map();
  xs.forEach((x, i) => at.set(x, i));
  const len = xs.length;
  let hidden = 0;
  let nonFinite = 0;
  const keep = (v) => {
    if (v === null || v === undefined) return null;
    if (!Number.isFinite(v)) {
      if (!Number.isNaN(v)) nonFinite++;
      return null;
    }
    if (logY && v <= 0) {
      hidden++;
      return null;
    }
    return v;
  };
  const perRun = new Map();
  for (const s of series) {
    const mean = new Array(len).fill(null);
    const min = new Array(len).fill(null);
    const max = new Array(len).fill(null);
    const smoothed = ema(s.points.map((p) => p.mean), smoothing);
    s.points.forEach((p, j) => {
      const i = at.get(p.x);
      mean[i] = keep(smoothed[j]);
      min[i] = keep(p.min);
      max[i] = keep(p.max);
    });
    perRun.set(s.runId, { mean, min, max, rawMeans: s.points.map((p) => [at.get(p.x), p.mean]) });
  }

  const cols = [xs];
  const specs = [{}];
  const bands = [];
  const add = (values, spec) => {
    cols.push(values);
    specs.push(spec);
    return cols.length - 1;
  };
  const band = (label, color, runId, mean, min, max, memberOf) => {
    const hi = add(max, { label: `${label} max`, role: 'max', color, runId, group: memberOf });
    const lo = add(min, { label: `${label} min`, role: 'min', color, runId, group: memberOf });
    bands.push({ series: [hi, lo], color });
    add(mean, { label, role: 'mean', color, runId, group: memberOf });
  };

  if (!groups) {
    for (const s of series) {
      const r = perRun.get(s.runId);
      const l = labels[s.runId] || { label: s.runId, color: '#57606a' };
      band(l.label, l.color, s.runId, r.mean, r.min, r.max);
    }
  } else {
    for (const g of groups) {
      const members = g.runIds.filter((id) => perRun.has(id));
      for (const id of members) {
        const l = labels[id] || { label: id };
        add(perRun.get(id).mean, { label: l.label, role: 'member', color: g.color, runId: id, group: g.label });
      }
      const sum = new Array(len).fill(0);
      const cnt = new Array(len).fill(0);
      const gmin = new Array(len).fill(null);
      const gmax = new Array(len).fill(null);
      for (const id of members) {
        const r = perRun.get(id);
        for (const [i, v] of r.rawMeans) {
          if (v !== null && Number.isFinite(v)) {
            sum[i] += v;
            cnt[i]++;
          }
        }
        for (let i = 0; i < len; i++) {
          if (r.min[i] !== null && (gmin[i] === null || r.min[i] < gmin[i])) gmin[i] = r.min[i];
          if (r.max[i] !== null && (gmax[i] === null || r.max[i] > gmax[i])) gmax[i] = r.max[i];
        }
      }
      const idx = [];
      const means = [];
      for (let i = 0; i < len; i++) {
        if (cnt[i]) {
          idx.push(i);
          means.push(sum[i] / cnt[i]);
        }
      }
      const gmean = new Array(len).fill(null);
      ema(means, smoothing).forEach((v, j) => (gmean[idx[j]] = keep(v)));
      band(`${g.label} (mean of ${members.length})`, g.color, null, gmean, gmin, gmax, g.label);
    }
  }
  return { data: cols, specs, bands, hidden, nonFinite };
}

// What was drawn inside the x range [x0, x1]: per series the number of
// points, their extremes and total variation; overall min and max.
export function drawnSummary(data, specs, x0, x1) {
  const xs = data[0];
  let i0 = 0;
  while (i0 < xs.length && xs[i0] < x0) i0++;
  let i1 = xs.length - 1;
  while (i1 >= 0 && xs[i1] > x1) i1--;
  let min = Infinity;
  let max = -Infinity;
  let points = 0;
  const series = [];
  for (let k = 1; k < data.length; k++) {
    const col = data[k];
    let smin = Infinity;
    let smax = -Infinity;
    let n = 0;
    let tv = 0; // total variation: how much the line moves up and down
    let prev = null;
    for (let i = i0; i <= i1; i++) {
      const v = col[i];
      if (v === null) continue;
      n++;
      if (v < smin) smin = v;
      if (v > smax) smax = v;
      if (prev !== null) tv += Math.abs(v - prev);
      prev = v;
    }
    points += n;
    if (n) {
      min = Math.min(min, smin);
      max = Math.max(max, smax);
    }
    series.push({ label: specs[k].label, role: specs[k].role, group: specs[k].group ?? null, n, min: n ? smin : null, max: n ? smax : null, tv });
  }
  return { points, min: points ? min : null, max: points ? max : null, series };
}
