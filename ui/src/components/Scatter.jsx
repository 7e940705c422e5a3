import { useLayoutEffect, useRef } from 'preact/hooks';
import { DIM, LIT, axisValueLabel, prepareCanvas, unit } from './ParallelCoords.jsx';

// A scatter of one axis model against another (ParallelCoords.jsx's
// axisModel: numeric values, or category indices for a categorical x) on one
// canvas. Hovering (or, with the canvas focused, the arrow keys) shows the
// nearest run; runs without a finite value on either axis are not drawn.
// Drawing is imperative: the page calls handle.current.redraw() after a brush;
// track(name, fn) is the page's timer around each hover's redraw.

const M = { left: 64, right: 20, top: 14, bottom: 40 };
const INK = '#1b1f24';
const MUTED = '#4d5661';
const HOVER_PX = 10;

function layout(w, h) {
  return { x0: M.left, x1: w - M.right, y0: h - M.bottom, y1: M.top };
}

// 4% padding at both ends keeps points off the axes.
function px(model, v, lo, hi) {
  return lo + (0.04 + 0.92 * unit(model, v)) * (hi - lo);
}

function draw(canvas, xm, ym, mask, hover) {
  const { ctx, w, h } = prepareCanvas(canvas);
  const L = layout(w, h);
  ctx.strokeStyle = INK;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(L.x0, L.y1);
  ctx.lineTo(L.x0, L.y0);
  ctx.lineTo(L.x1, L.y0);
  ctx.stroke();
  ctx.fillStyle = MUTED;
  ctx.font = '12px system-ui, sans-serif';
  if (!xm || !ym) return;
  // Ticks: the ends for numeric axes, every category (up to 12) for a categorical x.
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const xticks = xm.cats && xm.cats.length <= 12 ? xm.cats.map((_, i) => i) : [xm.min, xm.max];
  for (const t of xticks) ctx.fillText(axisValueLabel(xm, t).slice(0, 12), px(xm, t, L.x0, L.x1), L.y0 + 4);
  ctx.fillStyle = INK;
  ctx.fillText(xm.label, (L.x0 + L.x1) / 2, L.y0 + 20);
  ctx.fillStyle = MUTED;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  const yticks = ym.cats && ym.cats.length <= 12 ? ym.cats.map((_, i) => i) : [ym.min, ym.max];
  for (const t of yticks) ctx.fillText(axisValueLabel(ym, t).slice(0, 9), L.x0 - 4, px(ym, t, L.y0, L.y1));
  ctx.save();
  ctx.translate(12, (L.y0 + L.y1) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillStyle = INK;
  ctx.fillText(ym.label, 0, 0);
  ctx.restore();
  const n = xm.values.length;
  for (const lit of [0, 1]) {
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      if (mask[i] !== lit) continue;
      const xv = xm.values[i];
      const yv = ym.values[i];
      if (Number.isNaN(xv) || Number.isNaN(yv)) continue;
      const x = px(xm, xv, L.x0, L.x1);
      const y = px(ym, yv, L.y0, L.y1);
      ctx.moveTo(x + 3, y);
      ctx.arc(x, y, 3, 0, 2 * Math.PI);
    }
    ctx.fillStyle = lit ? LIT : DIM;
    ctx.fill();
  }
  if (hover >= 0) {
    const x = px(xm, xm.values[hover], L.x0, L.x1);
    const y = px(ym, ym.values[hover], L.y0, L.y1);
    ctx.beginPath();
    ctx.arc(x, y, 6, 0, 2 * Math.PI);
    ctx.strokeStyle = '#9a6700';
    ctx.lineWidth = 2;
    ctx.stroke();
  }
}

export function Scatter({ xm, ym, mask, names, handle, track, label }) {
  const ref = useRef(null);
  const tip = useRef(null);
  const hover = useRef(-1);

  function showTip() {
    const t = tip.current;
    const i = hover.current;
    if (!t) return;
    if (i < 0 || !xm || !ym) {
      t.hidden = true;
      return;
    }
    const c = ref.current;
    const L = layout(c.clientWidth, c.clientHeight);
    const x = px(xm, xm.values[i], L.x0, L.x1);
    const y = px(ym, ym.values[i], L.y0, L.y1);
    t.hidden = false;
    t.textContent = `${names[i]} · ${xm.label} ${axisValueLabel(xm, xm.values[i])} · ${ym.label} ${axisValueLabel(ym, ym.values[i])}`;
    t.style.left = `${Math.min(x + 10, c.clientWidth - 260)}px`;
    t.style.top = `${Math.max(y - 30, 0)}px`;
    t.dataset.x = x.toFixed(1); // the point, in canvas pixels
    t.dataset.y = y.toFixed(1);
  }

  const redraw = () => {
    if (!ref.current) return;
    draw(ref.current, xm, ym, mask.current, hover.current);
    showTip();
  };
  if (handle) handle.current = { redraw };
  useLayoutEffect(() => {
    // A new axis pair: the hovered run may not be drawn on it.
    if (hover.current >= 0 && xm && ym && (Number.isNaN(xm.values[hover.current]) || Number.isNaN(ym.values[hover.current]))) {
      hover.current = -1;
    }
    redraw();
  });
  useLayoutEffect(() => {
    const ro = new ResizeObserver(() => handle?.current?.redraw());
    ro.observe(ref.current);
    return () => ro.disconnect();
  }, []);

  function setHover(i) {
    if (i === hover.current) return false;
    hover.current = i;
    return true;
  }

  function nearest(e) {
    const c = ref.current;
    const r = c.getBoundingClientRect();
    const mx = e.clientX - r.left - c.clientLeft;
    const my = e.clientY - r.top - c.clientTop;
    const L = layout(c.clientWidth, c.clientHeight);
    let best = -1;
    let bd = HOVER_PX * HOVER_PX;
    const n = xm.values.length;
    for (let i = 0; i < n; i++) {
      const xv = xm.values[i];
      const yv = ym.values[i];
      if (Number.isNaN(xv) || Number.isNaN(yv)) continue;
      const dx = px(xm, xv, L.x0, L.x1) - mx;
      const dy = px(ym, yv, L.y0, L.y1) - my;
      const d = dx * dx + dy * dy;
      if (d < bd) {
        bd = d;
        best = i;
      }
    }
    return best;
  }

  // Keyboard: the drawn runs in x order.
  function onKeyDown(e) {
    if (!xm || !ym || (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft' && e.key !== 'Escape')) return;
    e.preventDefault();
    if (e.key === 'Escape') {
      if (setHover(-1)) redraw();
      return;
    }
    const drawn = [];
    for (let i = 0; i < xm.values.length; i++) if (!Number.isNaN(xm.values[i]) && !Number.isNaN(ym.values[i])) drawn.push(i);
    if (!drawn.length) return;
    drawn.sort((a, b) => xm.values[a] - xm.values[b] || ym.values[a] - ym.values[b] || a - b);
    const at = drawn.indexOf(hover.current);
    const next = e.key === 'ArrowRight' ? (at + 1) % drawn.length : at <= 0 ? drawn.length - 1 : at - 1;
    if (setHover(drawn[next])) redraw();
  }

  return (
    <div class="scatter-wrap">
      <canvas
        ref={ref}
        class="scatter-canvas"
        role="img"
        tabindex={0}
        aria-label={label}
        data-testid="scatter"
        onPointerMove={(e) => {
          if (!xm || !ym) return;
          track('hover', () => setHover(nearest(e)) && redraw());
        }}
        onPointerLeave={() => setHover(-1) && redraw()}
        onKeyDown={(e) => track('hover-key', () => onKeyDown(e))}
      />
      <div ref={tip} class="scatter-tip" role="status" data-testid="scatter-tip" hidden />
    </div>
  );
}
