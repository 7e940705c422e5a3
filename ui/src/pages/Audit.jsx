// /ui/audit: kiln's audit log (GET /api/v1/audit, administrators), newest
// first, filtered by the server inside its query (actor, action prefix,
// object, decision, audit id, time range) and paged with its page tokens;
// each record's details (grant matched, before/after, request, hashes); and
// the verifier's verdict over the whole chain (GET /api/v1/audit/verify, what
// `kiln audit verify` reports) at the top.
import { Fragment } from 'preact';
import { useEffect } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { useLocation } from 'preact-iso';
import { apiRequest } from '../api.js';
import './Audit.css';

const PAGE = 50;
const FILTERS = ['actor', 'action', 'object', 'decision', 'audit_id', 'since', 'until'];

export function formatUtc(ms) {
  if (!ms) return '';
  return new Date(Number(ms)).toISOString().replace('T', ' ').replace('Z', '');
}

// "2026-01-02T03:04" (a datetime-local value, read as UTC) -> epoch ms.
function parseUtc(text) {
  if (!text) return undefined;
  const ms = Date.parse(text.length === 16 ? `${text}:00Z` : `${text}Z`);
  return Number.isFinite(ms) ? ms : undefined;
}

function Verify() {
  const result = useSignal(null);
  const error = useSignal('');
  const busy = useSignal(false);
  async function run() {
    busy.value = true;
    error.value = '';
    try {
      result.value = await apiRequest('GET', '/api/v1/audit/verify');
    } catch (e) {
      result.value = null;
      error.value = e.message;
    } finally {
      busy.value = false;
    }
  }
  useEffect(() => {
    run();
  }, []);
  const r = result.value;
  return (
    <section class={`verify ${r ? (r.ok ? 'ok' : 'bad') : ''}`} aria-labelledby="verify-h" data-testid="verify">
      <h2 id="verify-h">Chain verification</h2>
      {error.value && (
        <p role="alert" class="error">
          Verification could not run: {error.value}
        </p>
      )}
      {!r && !error.value && <p aria-live="polite">Verifying…</p>}
      {r && r.ok && (
        <p role="status" data-testid="verify-status">
          <strong>Verified</strong>: the hash chain is intact up to record <strong data-testid="verify-last">{r.last_seq}</strong>{' '}
          ({r.records} records, {r.checkpoints} signed checkpoints
          {r.checkpoints > 0 && <>, the last at record {r.last_checkpoint_seq}</>}).
          {r.uncovered > 0 && (
            <>
              {' '}
              {r.uncovered} newer {r.uncovered === 1 ? 'record is' : 'records are'} not yet covered by a signed checkpoint.
            </>
          )}
        </p>
      )}
      {r && !r.ok && (
        <p role="alert" data-testid="verify-status">
          <strong>Verification failed</strong> at record <strong data-testid="verify-bad">{r.bad_seq}</strong>:{' '}
          {r.problem} — {r.message}
        </p>
      )}
      {r && (
        <p class="muted small">
          <span data-testid="verify-summary">{r.summary}</span>
          {r.key_id && <> · key {r.key_id}</>}{' '}
          <button type="button" onClick={run} disabled={busy.value}>
            Verify again
          </button>
        </p>
      )}
    </section>
  );
}

function Json({ value }) {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return <pre tabIndex={0}>{v}</pre>;
    }
  }
  return <pre tabIndex={0}>{JSON.stringify(v, null, 2)}</pre>;
}

const DETAIL_FIELDS = [
  ['audit_id', 'Audit id'],
  ['stage', 'Stage'],
  ['actor_kind', 'Actor kind'],
  ['auth_method', 'Signed in with'],
  ['credential_id', 'Credential'],
  ['impersonated_by', 'Impersonated by'],
  ['source', 'Source address'],
  ['protocol', 'Protocol'],
  ['service', 'Service'],
  ['method', 'Method'],
  ['path', 'Path'],
  ['reason', 'Grant matched / reason'],
  ['status', 'Status'],
  ['error', 'Error'],
];

function Details({ r }) {
  return (
    <div class="details" data-testid="audit-details">
      <dl>
        {DETAIL_FIELDS.filter(([k]) => r[k] !== undefined && r[k] !== '').map(([k, label]) => (
          <Fragment key={k}>
            <dt>{label}</dt>
            <dd data-field={k}>{String(r[k])}</dd>
          </Fragment>
        ))}
        {r.objects && r.objects.length > 0 && (
          <>
            <dt>Objects</dt>
            <dd>{r.objects.join(', ')}</dd>
          </>
        )}
        <dt>Hash</dt>
        <dd class="mono" data-field="hash">{r.hash}</dd>
        {r.prev && (
          <>
            <dt>Previous hash</dt>
            <dd class="mono">{r.prev}</dd>
          </>
        )}
      </dl>
      {['request', 'before', 'after'].map(
        (k) =>
          r[k] !== undefined && (
            <div key={k} class="payload">
              <h3>{k === 'request' ? 'Request' : k === 'before' ? 'Before' : 'After'}</h3>
              <Json value={r[k]} />
            </div>
          ),
      )}
      {r.invalid_record && (
        <p class="error">This stored record is not valid JSON; shown as stored: {r.invalid_record}</p>
      )}
    </div>
  );
}

export function Audit() {
  const { query, route, path } = useLocation();
  const form = useSignal(Object.fromEntries(FILTERS.map((k) => [k, query[k] || ''])));
  const records = useSignal(null);
  const next = useSignal('');
  const error = useSignal('');
  const tokens = useSignal(['']); // page tokens of the pages seen so far: back goes to the previous one
  const open = useSignal(new Set());
  const applied = FILTERS.map((k) => query[k] || '').join('\u0000');

  async function load(token) {
    const q = { order: 'desc', max_results: PAGE, page_token: token || undefined };
    for (const k of FILTERS) {
      const v = query[k];
      if (!v) continue;
      if (k === 'since' || k === 'until') {
        const ms = parseUtc(v);
        if (ms === undefined) {
          error.value = `invalid ${k} time '${v}'`;
          records.value = [];
          return;
        }
        q[k] = ms;
      } else q[k] = v;
    }
    error.value = '';
    records.value = null;
    try {
      const page = await apiRequest('GET', '/api/v1/audit', { query: q });
      records.value = page.records || [];
      next.value = page.next_page_token || '';
      open.value = new Set();
    } catch (e) {
      records.value = [];
      next.value = '';
      error.value = e.message;
    }
  }

  useEffect(() => {
    form.value = Object.fromEntries(FILTERS.map((k) => [k, query[k] || '']));
    tokens.value = [''];
    load('');
  }, [applied]);

  function apply(e) {
    e.preventDefault();
    const qs = new URLSearchParams();
    for (const k of FILTERS) if (form.value[k]) qs.set(k, form.value[k]);
    const s = qs.toString();
    route(s ? `${path}?${s}` : path);
  }

  function field(k, label, extra = {}) {
    return (
      <label class="filter">
        {label}
        <input
          name={k}
          value={form.value[k]}
          onInput={(e) => (form.value = { ...form.value, [k]: e.currentTarget.value })}
          {...extra}
        />
      </label>
    );
  }

  function toggle(seq) {
    const s = new Set(open.value);
    if (s.has(seq)) s.delete(seq);
    else s.add(seq);
    open.value = s;
  }

  const pageNo = tokens.value.length;
  return (
    <main id="main" class="audit">
      <h1>Audit log</h1>
      <Verify />
      <form class="filters" onSubmit={apply} aria-label="Audit filters">
        {field('actor', 'Actor', { placeholder: 'alice' })}
        {field('action', 'Action (prefix)', { placeholder: 'mlflow.runs.' })}
        {field('object', 'Object', { placeholder: 'experiment:3' })}
        <label class="filter">
          Decision
          <select
            name="decision"
            value={form.value.decision}
            onChange={(e) => (form.value = { ...form.value, decision: e.currentTarget.value })}
          >
            <option value="">any</option>
            <option value="allow">allow</option>
            <option value="deny">deny</option>
          </select>
        </label>
        {field('since', 'From (UTC)', { type: 'datetime-local', step: 1 })}
        {field('until', 'To (UTC)', { type: 'datetime-local', step: 1 })}
        {field('audit_id', 'Audit id')}
        <div class="filter-buttons">
          <button type="submit">Apply</button>
          <button
            type="button"
            onClick={() => {
              form.value = Object.fromEntries(FILTERS.map((k) => [k, '']));
              route(path);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      {error.value && (
        <p role="alert" class="error" data-testid="audit-error">
          {error.value}
        </p>
      )}
      {records.value === null && <p aria-live="polite">Loading…</p>}
      {records.value && (
        <>
          <p class="muted" data-testid="audit-count" aria-live="polite">
            Page {pageNo}: {records.value.length} {records.value.length === 1 ? 'record' : 'records'}, newest first
            {next.value ? '' : records.value.length ? ' (no older records match)' : ''}
          </p>
          <table class="list audit-table" data-testid="audit-records">
            <caption class="sr-only">Audit records, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Seq</th>
                <th scope="col">Time (UTC)</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Object</th>
                <th scope="col">Decision</th>
                <th scope="col">Stage</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="sr-only">Details</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {records.value.map((r) => {
                const isOpen = open.value.has(r.seq);
                const id = `audit-${r.seq}`;
                return (
                  <Fragment key={r.seq}>
                    <tr data-testid="audit-row" class={r.decision === 'deny' ? 'deny' : ''}>
                      <td class="num" data-col="seq">{r.seq}</td>
                      <td data-col="time">{formatUtc(r.time_ms)}</td>
                      <td data-col="actor">{r.actor}</td>
                      <td data-col="action">{r.action}</td>
                      <td data-col="object">{r.object || ''}</td>
                      <td data-col="decision">{r.decision}</td>
                      <td data-col="stage">{r.stage}</td>
                      <td data-col="status">{r.status || ''}</td>
                      <td>
                        <button
                          type="button"
                          class="link"
                          aria-expanded={isOpen}
                          aria-controls={id}
                          onClick={() => toggle(r.seq)}
                        >
                          {isOpen ? 'Hide' : 'Details'}
                          <span class="sr-only">
                            {isOpen ? ' details' : ''} of record {r.seq}
                          </span>
                        </button>
                      </td>
                    </tr>
                    {isOpen && (
                      <tr id={id}>
                        <td colSpan={9}>
                          <Details r={r} />
                        </td>
                      </tr>
                    )}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
          <nav class="pager" aria-label="Audit pages">
            <button
              type="button"
              disabled={pageNo <= 1}
              onClick={() => {
                const t = tokens.value.slice(0, -1);
                tokens.value = t;
                load(t[t.length - 1]);
              }}
            >
              ← Newer
            </button>
            <button
              type="button"
              disabled={!next.value}
              onClick={() => {
                tokens.value = [...tokens.value, next.value];
                load(next.value);
              }}
            >
              Older →
            </button>
          </nav>
        </>
      )}
    </main>
  );
}

export const routes = [{ path: '/ui/audit', component: Audit }];
export const nav = { label: 'Audit', href: '/ui/audit', order: 50 };
