import { useEffect, useLayoutEffect, useMemo, useReducer, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { Virtualizer, elementScroll, observeElementOffset, observeElementRect } from '@tanstack/virtual-core';
import { searchRuns } from '../api.js';

const ROW_HEIGHT = 32;
// A small first page shows rows quickly; later pages are larger so a fast
// scroll through 100,000 runs needs few requests.
const FIRST_PAGE = 50;
const NEXT_PAGE = 1000;
// Fetch the next page when the visible window is this close to the end.
const PREFETCH_ROWS = 200;

const BASE_COLUMNS = [
  { id: 'attributes.run_name', label: 'Run', width: '16rem', value: (r) => r.info.run_name || r.info.run_id },
  { id: 'attributes.status', label: 'Status', width: '7rem', value: (r) => r.info.status },
  {
    id: 'attributes.start_time',
    label: 'Started',
    width: '12rem',
    value: (r) => (r.info.start_time ? new Date(Number(r.info.start_time)).toISOString().replace('T', ' ').slice(0, 19) : ''),
  },
];

function quoted(key) {
  return '`' + key.replace(/`/g, '') + '`';
}

function dataColumn(kind, key) {
  const id = `${kind}.${quoted(key)}`;
  if (kind === 'params') {
    return { id, label: key, kind, width: '9rem', value: (r) => (r.data.params || []).find((p) => p.key === key)?.value ?? '' };
  }
  return {
    id,
    label: key,
    kind,
    width: '9rem',
    value: (r) => {
      const m = (r.data.metrics || []).find((p) => p.key === key);
      return m ? String(Math.round(m.value * 1e6) / 1e6) : '';
    },
  };
}

export function Runs({ id }) {
  const filterDraft = useSignal('');
  const filter = useSignal('');
  const order = useSignal({ id: 'attributes.start_time', dir: 'DESC' });
  const chosen = useSignal([]); // [{kind, key}]
  const error = useSignal('');
  const state = useRef({ rows: [], token: '', done: false, loading: false, gen: 0, ctl: null });
  const keys = useSignal({ params: [], metrics: [] });
  const [, bump] = useReducer((n) => n + 1, 0);
  const scrollRef = useRef(null);

  const columns = useMemo(
    () => [...BASE_COLUMNS, ...chosen.value.map((c) => dataColumn(c.kind, c.key))],
    [chosen.value],
  );

  function learnKeys(runs) {
    const params = new Set(keys.value.params);
    const metrics = new Set(keys.value.metrics);
    const before = params.size + metrics.size;
    for (const r of runs) {
      for (const p of r.data.params || []) params.add(p.key);
      for (const m of r.data.metrics || []) metrics.add(m.key);
    }
    if (params.size + metrics.size !== before) keys.value = { params: [...params].sort(), metrics: [...metrics].sort() };
  }

  async function loadMore() {
    const s = state.current;
    if (s.loading || s.done) return;
    s.loading = true;
    const gen = s.gen;
    try {
      const page = await searchRuns(
        {
          experimentId: id,
          filter: filter.value,
          orderBy: `${order.value.id} ${order.value.dir}`,
          pageToken: s.token,
          maxResults: s.rows.length ? NEXT_PAGE : FIRST_PAGE,
        },
        s.ctl.signal,
      );
      if (gen !== s.gen) return;
      const runs = page.runs || [];
      s.rows = s.rows.concat(runs);
      s.token = page.next_page_token || '';
      s.done = !s.token;
      learnKeys(runs);
      error.value = '';
    } catch (e) {
      if (gen !== s.gen || e.name === 'AbortError') return;
      s.done = true;
      error.value = e.message;
    } finally {
      if (gen === s.gen) s.loading = false;
    }
    if (gen === s.gen) bump();
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
    loadMore();
  }

  useEffect(() => {
    reset();
    return () => state.current.ctl?.abort();
  }, [id, filter.value, order.value]);

  const s = state.current;
  const count = s.rows.length + (s.done ? 0 : 1);

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
  const last = items.length ? items[items.length - 1].index : 0;
  useEffect(() => {
    if (!s.done && !s.loading && last >= s.rows.length - PREFETCH_ROWS) loadMore();
  });

  const template = columns.map((c) => c.width).join(' ');

  function sortBy(col) {
    const cur = order.value;
    order.value = cur.id === col.id ? { id: col.id, dir: cur.dir === 'ASC' ? 'DESC' : 'ASC' } : { id: col.id, dir: 'ASC' };
  }

  function toggle(kind, key, on) {
    const rest = chosen.value.filter((c) => !(c.kind === kind && c.key === key));
    chosen.value = on ? [...rest, { kind, key }] : rest;
  }

  const isChosen = (kind, key) => chosen.value.some((c) => c.kind === kind && c.key === key);

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
        <details class="columns">
          <summary>Columns</summary>
          <div class="picker">
            {['params', 'metrics'].map((kind) => (
              <fieldset key={kind}>
                <legend>{kind === 'params' ? 'Parameters' : 'Metrics'}</legend>
                {keys.value[kind].length === 0 && <p class="muted">none seen yet</p>}
                {keys.value[kind].map((key) => (
                  <label key={key} class="check">
                    <input
                      type="checkbox"
                      checked={isChosen(kind, key)}
                      onChange={(e) => toggle(kind, key, e.currentTarget.checked)}
                    />
                    {key}
                  </label>
                ))}
              </fieldset>
            ))}
          </div>
        </details>
      </form>
      {error.value && (
        <p role="alert" class="error">
          {error.value}
        </p>
      )}
      <p class="muted" aria-live="polite" data-testid="run-count">
        {s.rows.length} runs loaded{s.done ? '' : ', more on scroll'}
      </p>
      <div
        class="grid"
        ref={scrollRef}
        role="table"
        aria-label="Runs"
        aria-rowcount={s.done ? s.rows.length + 1 : -1}
        tabindex={0}
        data-testid="runs-table"
      >
        <div role="rowgroup" class="head">
          <div role="row" aria-rowindex={1} class="row" style={{ gridTemplateColumns: template }}>
            {columns.map((c) => {
              const sorted = order.value.id === c.id;
              return (
                <div
                  role="columnheader"
                  key={c.id}
                  aria-sort={sorted ? (order.value.dir === 'ASC' ? 'ascending' : 'descending') : 'none'}
                >
                  <button type="button" class="sort" onClick={() => sortBy(c)} title={`Sort by ${c.label}`}>
                    {c.kind ? <span class="kind">{c.kind === 'params' ? 'param' : 'metric'}</span> : null}
                    {c.label}
                    <span aria-hidden="true">{sorted ? (order.value.dir === 'ASC' ? ' ▲' : ' ▼') : ''}</span>
                  </button>
                </div>
              );
            })}
          </div>
        </div>
        <div role="rowgroup" class="body" style={{ height: `${virtualizer.getTotalSize()}px` }}>
          {items.map((item) => {
            const run = s.rows[item.index];
            return (
              <div
                role="row"
                key={item.key}
                aria-rowindex={item.index + 2}
                class="row"
                data-testid={run ? 'run-row' : 'loading-row'}
                style={{ gridTemplateColumns: template, transform: `translateY(${item.start}px)`, height: `${ROW_HEIGHT}px` }}
              >
                {run ? (
                  columns.map((c) => (
                    <div role="cell" key={c.id}>
                      {c.value(run)}
                    </div>
                  ))
                ) : (
                  <div role="cell">{s.done ? '' : 'Loading…'}</div>
                )}
              </div>
            );
          })}
        </div>
      </div>
    </main>
  );
}

export const routes = [{ path: '/ui/experiments/:id', component: Runs }];
