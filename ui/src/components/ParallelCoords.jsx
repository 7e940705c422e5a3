import { useLayoutEffect, useRef } from 'preact/hooks';

// Parallel coordinates on one canvas: a vertical axis per chosen param or
// metric, a polyline per run. Dragging along an axis brushes a range (the page
// decides what is highlighted); a click without dragging clears that axis's
// brush. Drawing is imperative so a brush move redraws without a render:
// the page calls handle.current.redraw().
//
// An axis model (axisModel) holds each run's position on the axis as a number:
// the value itself for numeric axes, the category's index for the others.
// Missing and non-finite values are NaN and are not drawn (the polyline
// breaks there); the counts are kept so the page can say so.

const MARGIN = { top: 34, bottom: 26, side: 56 };
export const DIM = 'rgba(140, 150, 162, 0.35)';
export const LIT = 'rgba(5, 80, 174, 0.55)';
const INK = '#1b1f24';
const MUTED = '#4d5661';

function natural(a, b) {
  return a.localeCompare(b, 'en', { numeric: true });
}

export function rawValue(run, axis) {
  return axis.kind === 'params' ? run.params[axis.key] : run.metrics[axis.key];
}

export function axisModel(runs, axis) {
  const n = runs.length;
  const raw = runs.map((r) => rawValue(r, axis));
  const values = new Float64Array(n).fill(NaN);
  let numeric = true;
  if (axis.kind === 'params') {
    for (const v of raw) {
      if (v === undefined) continue;
      if (v.trim() === '' || !Number.isFinite(Number(v))) {
        numeric = false;
        break;
      }
    }
  }
  let cats = null;
  let missing = 0;
  let nonFinite = 0;
  if (numeric) {
    for (let i = 0; i < n; i++) {
      const v = raw[i];
      if (v === undefined) {
        missing++;
        continue;
      }
      const x = typeof v === 'number' ? v : Number(v); // "NaN", "Infinity" as the server spells them
      if (Number.isFinite(x)) values[i] = x;
      else nonFinite++;
    }
  } else {
    cats = [...new Set(raw.filter((v) => v !== undefined))].sort(natural);
    const index = new Map(cats.map((c, i) => [c, i]));
    for (let i = 0; i < n; i++) {
      if (raw[i] === undefined) missing++;
      else values[i] = index.get(raw[i]);
    }
  }
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (cats) {
    min = 0;
    max = Math.max(cats.length - 1, 0);
  }
  // Positive values spanning three decades or more (learning rates) are
  // placed on a log10 scale; the model's units are then log10 of the value.
  let log = false;
  if (!cats && min > 0 && max / min >= 1000) {
    log = true;
    for (let i = 0; i < n; i++) values[i] = Math.log10(values[i]);
    min = Math.log10(min);
    max = Math.log10(max);
  }
  const empty = min > max;
  return {
    id: `${axis.kind}:${axis.key}`,
    kind: axis.kind,
    key: axis.key,
    label: log ? `${axis.key} (log)` : axis.key,
    values,
    cats,
    log,
    min: empty ? 0 : min,
    max: empty ? 1 : max,
    empty,
    missing,
    nonFinite,
  };
}

// Axis position in [0, 1] (0 = bottom); a single value sits in the middle.
export function unit(model, v) {
  return model.max === model.min ? 0.5 : (v - model.min) / (model.max - model.min);
}

export function fromUnit(model, u) {
  return model.max === model.min ? model.min : model.min + u * (model.max - model.min);
}

export function fmtTick(v) {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

// A position in model units, as the value it stands for.
export function axisValueLabel(model, v) {
  if (model.cats) return model.cats[Math.round(v)] ?? '';
  return fmtTick(model.log ? 10 ** v : v);
}

// A value typed by the user, in model units (NaN when it cannot be on the axis).
export function toModelUnits(model, v) {
  if (model.log) return v > 0 ? Math.log10(v) : NaN;
  return v;
}

export function prepareCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

function axisXs(n, w) {
  if (n === 1) return [w / 2];
  const span = w - 2 * MARGIN.side;
  return Array.from({ length: n }, (_, i) => MARGIN.side + (i * span) / (n - 1));
}

function draw(canvas, models, mask, brushes) {
  const { ctx, w, h } = prepareCanvas(canvas);
  if (!models.length) return;
  const top = MARGIN.top;
  const bottom = h - MARGIN.bottom;
  const span = bottom - top;
  const xs = axisXs(models.length, w);
  // Where each axis is, for tests and tools driving the canvas.
  canvas.dataset.axes = JSON.stringify({ ids: models.map((m) => m.id), xs, top, bottom });
  const n = models[0].values.length;
  ctx.lineWidth = 1;
  // Dimmed runs first, highlighted on top: one path per pass.
  for (const lit of [0, 1]) {
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      if (mask[i] !== lit) continue;
      let pen = false;
      for (let a = 0; a < models.length; a++) {
        const v = models[a].values[i];
        if (Number.isNaN(v)) {
          pen = false;
          continue;
        }
        const y = bottom - unit(models[a], v) * span;
        if (pen) ctx.lineTo(xs[a], y);
        else ctx.moveTo(xs[a], y);
        pen = true;
      }
    }
    ctx.strokeStyle = lit ? LIT : DIM;
    ctx.stroke();
  }
  ctx.font = '12px system-ui, sans-serif';
  ctx.textAlign = 'center';
  for (let a = 0; a < models.length; a++) {
    const m = models[a];
    const x = xs[a];
    const b = brushes.get(m.id);
    if (b) {
      const y1 = bottom - unit(m, b[1]) * span;
      const y0 = bottom - unit(m, b[0]) * span;
      ctx.fillStyle = 'rgba(191, 135, 0, 0.25)';
      ctx.fillRect(x - 9, Math.min(y0, y1), 18, Math.max(Math.abs(y0 - y1), 2));
      ctx.strokeStyle = '#9a6700';
      ctx.strokeRect(x - 9, Math.min(y0, y1), 18, Math.max(Math.abs(y0 - y1), 2));
    }
    ctx.strokeStyle = INK;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, bottom);
    ctx.stroke();
    ctx.fillStyle = INK;
    ctx.textBaseline = 'bottom';
    const label = (m.kind === 'params' ? '' : '◆ ') + m.label;
    ctx.fillText(label.length > 22 ? label.slice(0, 21) + '…' : label, x, top - 16);
    ctx.fillStyle = MUTED;
    if (m.empty) {
      ctx.fillText('no values', x, bottom + 18);
      continue;
    }
    if (m.cats && m.cats.length <= 12) {
      ctx.textAlign = 'left';
      ctx.textBaseline = 'middle';
      m.cats.forEach((c, i) => {
        const t = c.length > 10 ? c.slice(0, 9) + '…' : c;
        ctx.fillText(t, x + 4, bottom - unit(m, i) * span);
      });
      ctx.textAlign = 'center';
    } else {
      ctx.textBaseline = 'bottom';
      ctx.fillText(axisValueLabel(m, m.max), x, top - 2);
      ctx.textBaseline = 'top';
      ctx.fillText(axisValueLabel(m, m.min), x, bottom + 4);
    }
  }
}

export function ParallelCoords({ models, mask, brushes, onBrush, handle, label }) {
  const ref = useRef(null);
  const drag = useRef(null);

  const redraw = () => ref.current && draw(ref.current, models, mask.current, brushes.current);
  if (handle) handle.current = { redraw };
  useLayoutEffect(redraw);
  useLayoutEffect(() => {
    const ro = new ResizeObserver(() => handle?.current?.redraw());
    ro.observe(ref.current);
    return () => ro.disconnect();
  }, []);

  function geometry() {
    const c = ref.current;
    const b = c.getBoundingClientRect();
    // Pointer positions relative to the drawing area, inside the border.
    const r = { left: b.left + c.clientLeft, top: b.top + c.clientTop };
    return { r, top: MARGIN.top, bottom: c.clientHeight - MARGIN.bottom, xs: axisXs(models.length, c.clientWidth) };
  }

  function toValue(m, geo, y) {
    const u = (geo.bottom - Math.min(Math.max(y, geo.top), geo.bottom)) / (geo.bottom - geo.top);
    return fromUnit(m, u);
  }

  function rangeOf(d, y) {
    const a = toValue(d.model, d.geo, d.y0);
    const b = toValue(d.model, d.geo, y);
    return [Math.min(a, b), Math.max(a, b)];
  }

  function onPointerDown(e) {
    if (!models.length) return;
    const geo = geometry();
    const x = e.clientX - geo.r.left;
    const y = e.clientY - geo.r.top;
    let best = -1;
    let dist = 24;
    geo.xs.forEach((ax, i) => {
      if (Math.abs(ax - x) < dist) {
        dist = Math.abs(ax - x);
        best = i;
      }
    });
    if (best < 0 || y < geo.top - 12 || y > geo.bottom + 12 || models[best].empty) return;
    e.preventDefault();
    ref.current.setPointerCapture?.(e.pointerId);
    drag.current = { model: models[best], geo, y0: y, moved: false };
  }

  function onPointerMove(e) {
    const d = drag.current;
    if (!d) return;
    const y = e.clientY - d.geo.r.top;
    if (Math.abs(y - d.y0) < 3 && !d.moved) return;
    d.moved = true;
    onBrush(d.model.id, rangeOf(d, y), false);
  }

  function onPointerUp(e) {
    const d = drag.current;
    if (!d) return;
    drag.current = null;
    const y = e.clientY - d.geo.r.top;
    onBrush(d.model.id, d.moved ? rangeOf(d, y) : null, true);
  }

  return (
    <canvas
      ref={ref}
      class="pc-canvas"
      role="img"
      aria-label={label}
      data-testid="parallel-coords"
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onPointerCancel={() => (drag.current = null)}
    />
  );
}
