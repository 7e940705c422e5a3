import { useEffect, useLayoutEffect, useMemo, useReducer, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { Virtualizer, elementScroll, observeElementOffset, observeElementRect } from '@tanstack/virtual-core';
import { apiRequest } from '../api.js';
import './Runs.css';

// The runs table of one experiment over kiln's UI data endpoints
// (docs/tracking.md, "kiln UI data endpoints"):
//   runs-table   one page of runs with only the chosen params/tags/metrics and
//                last/min/max per metric
//   run-columns  every param, metric and tag key of the experiment (the column
//                and group-by choosers), asked once after the first rows show
//   runs-groups  runs grouped by a param or tag, with the members' ids and, per
//                metric, mean and min-max of their last values
const UI = '/api/2.0/kiln/ui';
const ROW_HEIGHT = 32;
// A small first page shows rows quickly; later pages are larger so a fast
// scroll through 100,000 runs needs few requests.
const FIRST_PAGE = 50;
const NEXT_PAGE = 1000;
// Fetch the next page when the visible window is this close to the end.
const PREFETCH_ROWS = 200;
// Grouped view: members are fetched by id, this many per request.
const MEMBER_BATCH = 500;
const MEMBER_PREFETCH = 100;

const AGGREGATES = ['last', 'min', 'max'];
const KIND_LABEL = { params: 'param', metrics: 'metric', tags: 'tag' };

function fmtTime(ms) {
  return ms ? new Date(Number(ms)).toISOString().replace('T', ' ').slice(0, 19) : '';
}

// The server's number as it sent it: finite values rounded for display,
// "NaN"/"Infinity" strings as they are; a min/max over only NaN points is null.
export function fmtNumber(v) {
  if (v === undefined) return '';
  if (v === null) return 'NaN';
  if (typeof v === 'string') return v;
  return String(Math.round(v * 1e6) / 1e6);
}

// Group statistics, shorter (4 significant digits); the cell's title has them in full.
function fmtShort(v) {
  if (typeof v !== 'number') return fmtNumber(v);
  return String(Number(v.toPrecision(4)));
}

function quoted(key) {
  return '`' + key.replace(/`/g, '') + '`';
}

const BASE_COLUMNS = [
  { id: 'attributes.run_name', col: 'run', label: 'Run', width: '13rem', sortable: true },
  { id: 'attributes.status', col: 'status', label: 'Status', width: '6rem', sortable: true, value: (r) => r.info.status },
  { id: 'attributes.start_time', col: 'start', label: 'Started', width: '12rem', sortable: true, value: (r) => fmtTime(r.info.start_time) },
];

function dataColumn(c) {
  const id = `${c.kind}.${quoted(c.key)}`;
  const base = { id, kind: c.kind, key: c.key, label: c.key, width: '8rem', col: `${c.kind}:${c.key}` };
  if (c.kind === 'params') return { ...base, sortable: true, value: (r) => r.params?.[c.key] ?? '' };
  if (c.kind === 'tags') return { ...base, sortable: true, value: (r) => r.tags?.[c.key] ?? '' };
  const agg = c.agg || 'last';
  return {
    ...base,
    agg,
    width: '14rem',
    // MLflow's order_by on a metric orders by its latest value; min/max columns
    // are shown but not offered as a sort key.
    sortable: agg === 'last',
    value: (r) => {
      const m = r.metrics?.[c.key];
      return m ? fmtNumber(m[agg]) : '';
    },
  };
}

function runsTable(body, signal) {
  return apiRequest('POST', `${UI}/runs-table`, { body, signal });
}

function tableBody(id, chosen, extra) {
  const cols = { params: [], metrics: [], tags: [] };
  const aggs = new Set();
  for (const c of chosen) {
    if (!cols[c.kind].includes(c.key)) cols[c.kind].push(c.key);
    if (c.kind === 'metrics') aggs.add(c.agg || 'last');
  }
  const body = { experiment_ids: [id], run_view_type: 'ACTIVE_ONLY', columns: cols, ...extra };
  body.metric_aggregates = aggs.size ? AGGREGATES.filter((a) => aggs.has(a)) : ['last'];
  return body;
}

function groupKey(g) {
  return g.value === null ? '\u0000none' : 'v:' + g.value;
}

// Index of the last start <= i (starts ascending).
function findGroup(starts, i) {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= i) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// The view (filter, sort, columns, grouping) is kept per experiment for the
// browser tab, so coming back from a run or the compare page restores it.
function savedView(id) {
  try {
    return JSON.parse(sessionStorage.getItem(`kiln.runs.${id}`)) || {};
  } catch {
    return {};
  }
}

export function Runs({ id }) {
  const saved = useMemo(() => savedView(id), [id]);
  const filterDraft = useSignal(saved.filter || '');
  const filter = useSignal(saved.filter || '');
  const order = useSignal(saved.order || { id: 'attributes.start_time', dir: 'DESC' });
  const chosen = useSignal(saved.chosen || []); // [{kind, key, agg}]
  const groupBy = useSignal(saved.groupBy || ''); // '' | 'params:<key>' | 'tags:<key>'
  const error = useSignal('');
  const keys = useSignal(null); // {params, metrics, tags} from run-columns
  const keysError = useSignal('');
  const selected = useSignal([]); // run ids, in selection order
  const chartMetric = useSignal('');
  const state = useRef({ rows: [], token: '', done: false, loading: false, gen: 0, ctl: null });
  // Grouped view: the groups, their statistics per metric column, which are
  // collapsed, and the member rows fetched so far by id.
  const grouped = useRef({ groups: null, stats: {}, collapsed: new Set(), cache: new Map(), pending: new Set(), gen: 0, ctl: null });
  const [, bump] = useReducer((n) => n + 1, 0);
  const scrollRef = useRef(null);

  const columns = useMemo(() => [...BASE_COLUMNS, ...chosen.value.map(dataColumn)], [chosen.value]);
  const isGrouped = groupBy.value !== '';

  async function loadKeys() {
    if (keys.value) return;
    try {
      keys.value = await apiRequest('GET', `${UI}/run-columns`, { query: { experiment_ids: id } });
      keysError.value = '';
    } catch (e) {
      keysError.value = e.message;
    }
  }

  async function loadMore() {
    const s = state.current;
    if (s.loading || s.done) return;
    s.loading = true;
    const gen = s.gen;
    try {
      const body = tableBody(id, chosen.value, {
        filter: filter.value || undefined,
        order_by: [`${order.value.id} ${order.value.dir}`],
        page_token: s.token || undefined,
        max_results: s.rows.length ? NEXT_PAGE : FIRST_PAGE,
      });
      const page = await runsTable(body, s.ctl.signal);
      if (gen !== s.gen) return;
      s.rows = s.rows.concat(page.runs || []);
      s.token = page.next_page_token || '';
      s.done = !s.token;
      error.value = '';
    } catch (e) {
      if (gen !== s.gen || e.name === 'AbortError') return;
      s.done = true;
      error.value = e.message;
    } finally {
      if (gen === s.gen) s.loading = false;
    }
    if (gen === s.gen) bump();
    if (!keys.value) setTimeout(loadKeys, 0);
  }

  function reset() {
    const s = state.current;
    s.ctl?.abort();
    s.ctl = new AbortController();
    s.gen += 1;
    s.rows = [];
    s.token = '';
    s.done = false;
    s.loading = false;
    if (scrollRef.current) scrollRef.current.scrollTop = 0;
    bump();
    if (!isGrouped) loadMore();
  }

  async function loadGroups() {
    const g = grouped.current;
    g.ctl?.abort();
    g.ctl = new AbortController();
    g.gen += 1;
    const gen = g.gen;
    g.groups = null;
    g.stats = {};
    g.cache = new Map();
    g.pending = new Set();
    g.failed = false;
    if (scrollRef.current) scrollRef.current.scrollTop = 0;
    bump();
    const [kind, ...rest] = groupBy.value.split(':');
    const key = rest.join(':');
    const metrics = [...new Set(chosen.value.filter((c) => c.kind === 'metrics').map((c) => c.key))];
    const ask = (metric) =>
      apiRequest('POST', `${UI}/runs-groups`, {
        body: {
          experiment_ids: [id],
          run_view_type: 'ACTIVE_ONLY',
          filter: filter.value || undefined,
          group_by: kind === 'params' ? { param: key } : { tag: key },
          metric,
        },
        signal: g.ctl.signal,
      });
    try {
      // One call per metric column (the endpoint takes one metric); all share
      // the grouping, so the first answer gives the groups.
      const answers = await Promise.all(metrics.length ? metrics.map(ask) : [ask(undefined)]);
      if (gen !== g.gen) return;
      g.groups = answers[0].groups || [];
      metrics.forEach((m, i) => (g.stats[m] = new Map((answers[i].groups || []).map((x) => [groupKey(x), x]))));
      error.value = '';
    } catch (e) {
      if (gen !== g.gen || e.name === 'AbortError') return;
      g.groups = [];
      error.value = e.message;
    }
    bump();
  }

  async function loadMembers(ids) {
    const g = grouped.current;
    const gen = g.gen;
    ids.forEach((r) => g.pending.add(r));
    try {
      const body = tableBody(id, chosen.value, {
        filter: `attributes.run_id IN (${ids.map((r) => `'${r}'`).join(',')})`,
        max_results: ids.length,
      });
      const page = await runsTable(body, g.ctl.signal);
      if (gen !== g.gen) return;
      for (const run of page.runs || []) g.cache.set(run.info.run_id, run);
      // A member that is gone by now (deleted meanwhile) shows as such, not as loading forever.
      for (const r of ids) if (!g.cache.has(r)) g.cache.set(r, null);
    } catch (e) {
      if (gen !== g.gen || e.name === 'AbortError') return;
      g.failed = true; // shown in the alert; no retry loop until the view changes
      error.value = e.message;
    } finally {
      if (gen === g.gen) ids.forEach((r) => g.pending.delete(r));
    }
    if (gen === g.gen) bump();
  }

  useEffect(() => {
    try {
      sessionStorage.setItem(
        `kiln.runs.${id}`,
        JSON.stringify({ filter: filter.value, order: order.value, chosen: chosen.value, groupBy: groupBy.value }),
      );
    } catch {
      // storage full or disabled: the view is just not remembered
    }
    if (isGrouped) {
      state.current.ctl?.abort();
      loadGroups();
    } else {
      grouped.current.ctl?.abort();
      grouped.current.groups = null;
      reset();
    }
    return () => {
      state.current.ctl?.abort();
      grouped.current.ctl?.abort();
    };
  }, [id, filter.value, order.value, chosen.value, groupBy.value]);

  // The flattened grouped view: per group a header row, then its members
  // unless collapsed.
  const g = grouped.current;
  const layout = useMemo(() => {
    if (!isGrouped || !g.groups) return null;
    const starts = [];
    let n = 0;
    for (const grp of g.groups) {
      starts.push(n);
      n += 1 + (g.collapsed.has(groupKey(grp)) ? 0 : grp.run_ids.length);
    }
    return { starts, count: n };
  }, [isGrouped, g.groups, g.collapsed]);

  const s = state.current;
  const count = isGrouped ? (layout ? layout.count : 0) : s.rows.length + (s.done ? 0 : 1);

  const virtualizer = useMemo(
    () =>
      new Virtualizer({
        count,
        getScrollElement: () => scrollRef.current,
        estimateSize: () => ROW_HEIGHT,
        overscan: 8,
        observeElementRect,
        observeElementOffset,
        scrollToFn: elementScroll,
        onChange: () => bump(),
      }),
    [],
  );
  virtualizer.setOptions({ ...virtualizer.options, count });
  useLayoutEffect(() => virtualizer._didMount(), []);
  useLayoutEffect(() => virtualizer._willUpdate());

  const items = virtualizer.getVirtualItems();

  function entryAt(i) {
    const gi = findGroup(layout.starts, i);
    const grp = g.groups[gi];
    const off = i - layout.starts[gi];
    if (off === 0) return { type: 'group', grp, gi };
    const runId = grp.run_ids[off - 1];
    return { type: 'run', runId, run: g.cache.get(runId), grp };
  }

  useEffect(() => {
    if (!isGrouped) {
      const last = items.length ? items[items.length - 1].index : 0;
      if (!s.done && !s.loading && last >= s.rows.length - PREFETCH_ROWS) loadMore();
      return;
    }
    if (!layout || !items.length || g.failed) return;
    // Members in and near the visible window that are neither loaded nor asked for.
    const want = [];
    const lo = Math.max(0, items[0].index - MEMBER_PREFETCH);
    const hi = Math.min(layout.count - 1, items[items.length - 1].index + MEMBER_PREFETCH);
    for (let i = lo; i <= hi && want.length < MEMBER_BATCH; i++) {
      const e = entryAt(i);
      if (e.type === 'run' && !g.cache.has(e.runId) && !g.pending.has(e.runId)) want.push(e.runId);
    }
    if (want.length) loadMembers(want);
  });

  const template = ['2.25rem', ...columns.map((c) => c.width)].join(' ');

  function sortBy(col) {
    const cur = order.value;
    order.value = cur.id === col.id ? { id: col.id, dir: cur.dir === 'ASC' ? 'DESC' : 'ASC' } : { id: col.id, dir: 'ASC' };
  }

  function toggleColumn(kind, key, on) {
    const rest = chosen.value.filter((c) => !(c.kind === kind && c.key === key));
    chosen.value = on ? [...rest, { kind, key, agg: 'last' }] : rest;
  }

  function setAggregate(col, agg) {
    chosen.value = chosen.value.map((c) => (c.kind === col.kind && c.key === col.key ? { ...c, agg } : c));
    if (agg !== 'last' && order.value.id === col.id) order.value = { id: 'attributes.start_time', dir: 'DESC' };
  }

  const isChosen = (kind, key) => chosen.value.some((c) => c.kind === kind && c.key === key);
  const selectedSet = useMemo(() => new Set(selected.value), [selected.value]);

  function select(ids, on) {
    if (on) {
      const add = ids.filter((r) => !selectedSet.has(r));
      selected.value = [...selected.value, ...add];
    } else {
      const drop = new Set(ids);
      selected.value = selected.value.filter((r) => !drop.has(r));
    }
  }

  function toggleGroup(grp) {
    const k = groupKey(grp);
    const next = new Set(g.collapsed);
    if (next.has(k)) next.delete(k);
    else next.add(k);
    g.collapsed = next;
    bump();
  }

  const loadedIds = isGrouped ? [] : s.rows.map((r) => r.info.run_id);
  const allLoadedSelected = loadedIds.length > 0 && loadedIds.every((r) => selectedSet.has(r));
  const metricKeys = keys.value?.metrics || [];
  const chartKey = chartMetric.value || chosen.value.find((c) => c.kind === 'metrics')?.key || metricKeys[0] || '';
  const runsParam = selected.value.map(encodeURIComponent).join(',');
  const expPath = `/ui/experiments/${encodeURIComponent(id)}`;

  function runCells(run) {
    return [
      <div role="cell" key="sel" class="sel">
        <input
          type="checkbox"
          checked={selectedSet.has(run.info.run_id)}
          onChange={(e) => select([run.info.run_id], e.currentTarget.checked)}
          aria-label={`Select ${run.info.run_name || run.info.run_id}`}
        />
      </div>,
      ...columns.map((c) => (
        <div role="cell" key={c.id} data-col={c.col} class={c.kind === 'metrics' ? 'num' : ''}>
          {c.col === 'run' ? <a href={`/ui/runs/${encodeURIComponent(run.info.run_id)}`}>{run.info.run_name || run.info.run_id}</a> : c.value(run)}
        </div>
      )),
    ];
  }

  function groupCells(grp) {
    const collapsed = g.collapsed.has(groupKey(grp));
    const [kind, ...rest] = groupBy.value.split(':');
    const label = grp.value === null ? `no ${KIND_LABEL[kind]} ${rest.join(':')}` : grp.value;
    const allIn = grp.run_ids.length > 0 && grp.run_ids.every((r) => selectedSet.has(r));
    return [
      <div role="cell" key="sel" class="sel">
        <input
          type="checkbox"
          checked={allIn}
          onChange={(e) => select(grp.run_ids, e.currentTarget.checked)}
          aria-label={`Select the ${grp.count} runs of group ${label}`}
        />
      </div>,
      ...columns.map((c) => {
        if (c.col === 'run') {
          return (
            <div role="cell" key={c.id} data-col="run" class="group-name">
              <button type="button" class="disclose" aria-expanded={!collapsed} onClick={() => toggleGroup(grp)}>
                <span aria-hidden="true">{collapsed ? '▸' : '▾'}</span> {label}
              </button>{' '}
              <span class="muted" data-testid="group-count">
                {grp.count} {grp.count === 1 ? 'run' : 'runs'}
              </span>
            </div>
          );
        }
        if (c.kind === 'metrics') {
          const st = g.stats[c.key]?.get(groupKey(grp));
          if (!st) return <div role="cell" key={c.id} />;
          const title = `${c.key}: mean ${fmtNumber(st.mean)}, min ${fmtNumber(st.min)}, max ${fmtNumber(st.max)} of the members' last values (${
            st.metric_count
          } with a value${st.nan_count ? `, ${st.nan_count} NaN left out` : ''})`;
          return (
            <div role="cell" key={c.id} data-col={c.col} class="num group-stat" title={title}>
              {st.metric_count === 0 ? (
                <span class="muted">no values</span>
              ) : (
                <>
                  <span data-testid="group-mean">{st.mean === null ? 'mean n/a' : fmtShort(st.mean)}</span>{' '}
                  <span class="muted" data-testid="group-range">
                    ({fmtShort(st.min)}–{fmtShort(st.max)})
                  </span>
                </>
              )}
            </div>
          );
        }
        return <div role="cell" key={c.id} />;
      }),
    ];
  }

  const groupChoices = keys.value
    ? [...keys.value.params.map((k) => ['params:' + k, `param ${k}`]), ...keys.value.tags.map((k) => ['tags:' + k, `tag ${k}`])]
    : [];
  if (isGrouped && !groupChoices.some(([v]) => v === groupBy.value)) {
    groupChoices.unshift([groupBy.value, groupBy.value.replace(':', ' ').replace(/^params/, 'param').replace(/^tags/, 'tag')]);
  }

  let status;
  if (isGrouped) {
    status = g.groups
      ? `${g.groups.length} groups, ${g.groups.reduce((n, x) => n + x.count, 0)} runs`
      : 'Grouping…';
  } else {
    status = `${s.rows.length} runs loaded${s.done ? '' : ', more on scroll'}`;
  }

  return (
    <main id="main" class="runs">
      <h1>
        Runs <span class="muted">experiment {id}</span>
      </h1>
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          filter.value = filterDraft.value.trim();
        }}
      >
        <label for="run-filter">Filter</label>
        <input
          id="run-filter"
          type="search"
          placeholder="metrics.acc > 0.9 and params.lr = '0.01'"
          value={filterDraft.value}
          onInput={(e) => (filterDraft.value = e.currentTarget.value)}
          spellcheck={false}
          autocomplete="off"
        />
        <button type="submit">Apply</button>
        <details class="columns" onToggle={(e) => e.currentTarget.open && loadKeys()}>
          <summary>Columns</summary>
          <div class="picker">
            {!keys.value && !keysError.value && <p class="muted">Loading keys…</p>}
            {keysError.value && <p class="error">{keysError.value}</p>}
            {keys.value &&
              ['params', 'metrics', 'tags'].map((kind) => (
                <fieldset key={kind}>
                  <legend>{kind === 'params' ? 'Parameters' : kind === 'metrics' ? 'Metrics' : 'Tags'}</legend>
                  {keys.value[kind].length === 0 && <p class="muted">none in this experiment</p>}
                  {keys.value[kind].map((key) => (
                    <label key={key} class="check">
                      <input
                        type="checkbox"
                        checked={isChosen(kind, key)}
                        onChange={(e) => toggleColumn(kind, key, e.currentTarget.checked)}
                      />
                      {key}
                    </label>
                  ))}
                </fieldset>
              ))}
          </div>
        </details>
        <label for="group-by">Group by</label>
        <select id="group-by" value={groupBy.value} onFocus={loadKeys} onChange={(e) => (groupBy.value = e.currentTarget.value)}>
          <option value="">none</option>
          {groupChoices.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
      </form>
      <div class="actions" role="group" aria-label="Selected runs">
        <span data-testid="selected-count">{selected.value.length} selected</span>
        {!isGrouped && (
          <label class="check inline">
            <input type="checkbox" checked={allLoadedSelected} onChange={(e) => select(loadedIds, e.currentTarget.checked)} />
            all {loadedIds.length} loaded
          </label>
        )}
        {selected.value.length >= 2 ? (
          <a class="button" href={`${expPath}/compare?runs=${runsParam}`}>
            Compare
          </a>
        ) : (
          <button type="button" disabled>
            Compare
          </button>
        )}
        <label for="chart-metric">Chart metric</label>
        <select
          id="chart-metric"
          value={chartKey}
          onFocus={loadKeys}
          onChange={(e) => (chartMetric.value = e.currentTarget.value)}
        >
          {!metricKeys.includes(chartKey) && <option value={chartKey}>{chartKey || '—'}</option>}
          {metricKeys.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
        {selected.value.length >= 1 && chartKey ? (
          <a class="button" href={`${expPath}/charts?runs=${runsParam}&metric=${encodeURIComponent(chartKey)}`}>
            Chart
          </a>
        ) : (
          <button type="button" disabled>
            Chart
          </button>
        )}
        {selected.value.length > 0 && (
          <button type="button" onClick={() => (selected.value = [])}>
            Clear selection
          </button>
        )}
      </div>
      {error.value && (
        <p role="alert" class="error">
          {error.value}
        </p>
      )}
      <p class="muted" aria-live="polite" data-testid="run-count">
        {status}
        {isGrouped && g.groups
          ? ` · members listed newest first${
              chosen.value.some((c) => c.kind === 'metrics') ? " · group rows: mean (min–max) of the members' last values" : ''
            }`
          : ''}
      </p>
      <div
        class="grid"
        ref={scrollRef}
        role="table"
        aria-label="Runs"
        aria-rowcount={isGrouped ? count + 1 : s.done ? s.rows.length + 1 : -1}
        tabindex={0}
        data-testid="runs-table"
      >
        <div role="rowgroup" class="head">
          <div role="row" aria-rowindex={1} class="row" style={{ gridTemplateColumns: template }}>
            <div role="columnheader" class="sel">
              <span class="sr-only">Selected</span>
            </div>
            {columns.map((c) => {
              const sorted = !isGrouped && order.value.id === c.id;
              const canSort = c.sortable && !isGrouped;
              return (
                <div
                  role="columnheader"
                  key={c.id}
                  data-col={c.col}
                  aria-sort={sorted ? (order.value.dir === 'ASC' ? 'ascending' : 'descending') : 'none'}
                >
                  <button
                    type="button"
                    class="sort"
                    onClick={() => sortBy(c)}
                    disabled={!canSort}
                    title={
                      canSort
                        ? `Sort by ${c.label}`
                        : isGrouped
                          ? 'Grouped view: members are listed newest first'
                          : 'The server sorts a metric by its latest value only'
                    }
                  >
                    {c.kind ? <span class="kind">{KIND_LABEL[c.kind]}</span> : null}
                    {c.label}
                    <span aria-hidden="true">{sorted ? (order.value.dir === 'ASC' ? ' ▲' : ' ▼') : ''}</span>
                  </button>
                  {c.kind === 'metrics' && (
                    <select
                      class="agg"
                      aria-label={`Aggregate of ${c.key}`}
                      value={c.agg}
                      onChange={(e) => setAggregate(c, e.currentTarget.value)}
                    >
                      {AGGREGATES.map((a) => (
                        <option key={a} value={a}>
                          {a}
                        </option>
                      ))}
                    </select>
                  )}
                </div>
              );
            })}
          </div>
        </div>
        <div role="rowgroup" class="body" style={{ height: `${virtualizer.getTotalSize()}px` }}>
          {items.map((item) => {
            const style = { gridTemplateColumns: template, transform: `translateY(${item.start}px)`, height: `${ROW_HEIGHT}px` };
            if (isGrouped) {
              if (!layout) return null;
              const e = entryAt(item.index);
              if (e.type === 'group') {
                return (
                  <div role="row" key={item.key} aria-rowindex={item.index + 2} class="row group" data-testid="group-row" style={style}>
                    {groupCells(e.grp)}
                  </div>
                );
              }
              return (
                <div
                  role="row"
                  key={item.key}
                  aria-rowindex={item.index + 2}
                  class="row member"
                  data-testid={e.run ? 'run-row' : 'loading-row'}
                  style={style}
                >
                  {e.run ? runCells(e.run) : <div role="cell">{e.run === null ? 'no longer matches' : 'Loading…'}</div>}
                </div>
              );
            }
            const run = s.rows[item.index];
            return (
              <div
                role="row"
                key={item.key}
                aria-rowindex={item.index + 2}
                class="row"
                data-testid={run ? 'run-row' : 'loading-row'}
                style={style}
              >
                {run ? runCells(run) : <div role="cell">{s.done ? '' : 'Loading…'}</div>}
              </div>
            );
          })}
        </div>
      </div>
    </main>
  );
}

export const routes = [{ path: '/ui/experiments/:id', component: Runs }];
