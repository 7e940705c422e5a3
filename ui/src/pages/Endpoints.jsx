// Deployment endpoints (the platform API, /api/v1/endpoints): the list, and
// one endpoint's page with its live traffic split and per-route figures of
// the last minute (requests, server-error rate, p99 latency: what the
// endpoint's status reports), rollout progress, revision history, the event
// log (who, when, why) and a confirmed, audited rollback.
import { useEffect, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { ConfirmDialog } from '../components/ConfirmDialog.jsx';
import {
  endpointEvents,
  endpointHref,
  formatTime,
  getEndpoint,
  listEndpoints,
  modelHref,
  msText,
  rateText,
  rollbackEndpoint,
} from '../components/platform.js';
import './Endpoints.css';

const REFRESH_MS = 5000;

function splitText(ep) {
  const shares = ep.status?.revision_traffic || [];
  if (!shares.length) return 'no traffic';
  return shares.map((s) => `revision ${s.revision}: ${s.percent} %`).join(', ');
}

function rolloutText(ep) {
  const r = ep.status?.rollout;
  if (!ep.status?.pending || !r) return 'none';
  return `revision ${r.from_revision} → ${r.to_revision} at ${r.percent} % (${r.phase})`;
}

function routeText(r) {
  const ref = r.ref_kind === 'version' ? '' : ` (${r.ref_kind === 'alias' ? '@' : ''}${r.ref})`;
  return `${r.model} v${r.version}${ref}: ${r.percent} %`;
}

export function EndpointList() {
  const endpoints = useSignal(null);
  const error = useSignal('');

  useEffect(() => {
    const ctl = new AbortController();
    listEndpoints(ctl.signal)
      .then((eps) => (endpoints.value = [...eps].sort((a, b) => a.name.localeCompare(b.name))))
      .catch((e) => {
        if (e.name !== 'AbortError') error.value = e.message;
      });
    return () => ctl.abort();
  }, []);

  return (
    <main id="main" class="endpoints">
      <h1>Endpoints</h1>
      {error.value && (
        <p role="alert" class="error">
          {error.value}
        </p>
      )}
      {!endpoints.value && !error.value && <p aria-live="polite">Loading…</p>}
      {endpoints.value && endpoints.value.length === 0 && <p>No endpoints yet (create one with POST /api/v1/endpoints).</p>}
      {endpoints.value && endpoints.value.length > 0 && (
        <table class="list" data-testid="endpoints">
          <caption class="sr-only">Endpoints</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Traffic</th>
              <th scope="col">Rollout</th>
              <th scope="col">Routes now</th>
              <th scope="col">Description</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {endpoints.value.map((ep) => (
              <tr key={ep.name} data-testid="endpoint-row">
                <td>
                  <a href={endpointHref(ep.name)}>{ep.name}</a>
                </td>
                <td>{splitText(ep)}</td>
                <td>{rolloutText(ep)}</td>
                <td>
                  {(ep.status?.traffic || []).map((t, i) => (
                    <div key={i}>
                      {t.model} v{t.version} {t.percent} %{t.ready ? '' : ' (not ready)'}
                    </div>
                  ))}
                </td>
                <td class="desc">{ep.description}</td>
                <td class="time">{formatTime(ep.updated_ms)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}

// What the rollout controller does next, from the status and the policy of
// the revision being rolled out (rollout_controller.cc's rules).
function nextStep(ro, policy) {
  if (!policy) return 'unknown (the revision being rolled out is not in the history)';
  if (ro.phase === 'baking') return `revision ${ro.to_revision} is rolled out (100 %) when the bake ends`;
  const pct = Math.min(100, ro.percent + Math.max(policy.step_percent || 1, 1));
  if (pct < 100) return `revision ${ro.to_revision} goes to ${pct} %`;
  return policy.bake_s > 0 ? `revision ${ro.to_revision} goes to 100 % and bakes for ${policy.bake_s} s` : `revision ${ro.to_revision} is rolled out (100 %)`;
}

function RolloutProgress({ ep }) {
  const st = ep.status || {};
  const ro = st.rollout;
  if (!st.pending || !ro) {
    return (
      <p data-testid="rollout">
        No rollout in progress
        {st.rolled_out_revision ? `: revision ${st.rolled_out_revision} is rolled out.` : '.'}
      </p>
    );
  }
  const rev = (ep.revisions || []).find((r) => r.revision === ro.to_revision);
  const policy = rev?.rollout;
  return (
    <div class="rollout" data-testid="rollout">
      <p>
        Revision <strong>{ro.to_revision}</strong> is rolling out from revision {ro.from_revision}
        {policy ? ` (${policy.strategy}${policy.step_percent ? `, steps of ${policy.step_percent} %` : ''})` : ''},
        phase <strong>{ro.phase}</strong>.
      </p>
      <label for="rollout-progress">
        Current step: <span data-testid="rollout-percent">{ro.percent} %</span> of traffic on revision {ro.to_revision}
      </label>
      <progress id="rollout-progress" max={100} value={ro.percent}>
        {ro.percent} %
      </progress>
      <p data-testid="rollout-next">
        Next step: {nextStep(ro, policy)} at <span class="time">{formatTime(ro.next_step_ms)}</span>. Started{' '}
        <span class="time">{formatTime(ro.started_ms)}</span>.
      </p>
    </div>
  );
}

const COLORS = ['#0550ae', '#8a4600', '#1a7f37', '#8250df', '#a40e26', '#4d5661'];

function TrafficSplit({ ep }) {
  const routes = ep.status?.traffic || [];
  if (!routes.length) return <p>No route takes traffic.</p>;
  return (
    <>
      <div class="split" aria-hidden="true">
        {routes.map((t, i) =>
          t.percent > 0 ? (
            <div key={i} class="split-part" style={{ width: `${t.percent}%`, background: COLORS[i % COLORS.length] }}>
              {t.percent >= 8 ? `r${t.revision} ${t.percent} %` : ''}
            </div>
          ) : null,
        )}
      </div>
      <table class="list" aria-labelledby="traffic-h" data-testid="traffic">
        <thead>
          <tr>
            <th scope="col">Revision</th>
            <th scope="col">Model version</th>
            <th scope="col">Share</th>
            <th scope="col">Ready</th>
            <th scope="col">Requests (last min)</th>
            <th scope="col">Error rate (last min)</th>
            <th scope="col">p99 latency (last min)</th>
          </tr>
        </thead>
        <tbody>
          {routes.map((t, i) => {
            const none = !t.requests_1m;
            return (
              <tr key={i} data-testid="traffic-row" data-revision={t.revision}>
                <th scope="row">
                  <span class="swatch" style={{ background: COLORS[i % COLORS.length] }} aria-hidden="true" />
                  revision {t.revision}
                </th>
                <td>
                  <a href={`${modelHref(t.model)}#version-${t.version}`}>
                    {t.model} v{t.version}
                  </a>
                </td>
                <td data-testid="traffic-percent">{t.percent} %</td>
                <td>{t.ready ? 'ready' : `not ready${t.reason ? `: ${t.reason}` : ''}`}</td>
                <td class="num" data-testid="traffic-requests">
                  {t.requests_1m}
                </td>
                <td class="num" data-testid="traffic-errors">
                  {none ? 'no requests' : rateText(t.error_rate_1m)}
                </td>
                <td class="num" data-testid="traffic-p99">
                  {none ? 'no requests' : msText(t.p99_ms_1m)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p class="muted">
        Per route over the last minute, as the endpoint's status reports them; the error rate counts server errors
        (5xx).
      </p>
    </>
  );
}

function revisionState(ep, rev) {
  const st = ep.status || {};
  const share = (st.revision_traffic || []).find((s) => s.revision === rev.revision);
  const parts = [];
  if (share) parts.push(`live ${share.percent} %`);
  if (rev.revision === st.rolled_out_revision) parts.push('rolled out');
  if (rev.revision === st.previous_rolled_out_revision) parts.push('previous');
  if (st.pending && st.rollout?.to_revision === rev.revision) parts.push('rolling out');
  return parts.length ? parts.join(', ') : 'not in use';
}

function policyText(p) {
  if (!p) return '';
  let s = p.strategy;
  if (p.strategy !== 'all_at_once') s += ` ${p.step_percent} %, bake ${p.bake_s} s`;
  if (p.strategy === 'linear') s += `, every ${p.interval_s} s`;
  if (p.rollback_on?.length) s += `; guardrails: ${p.rollback_on.map((g) => `${g.metric} ${g.op} ${g.threshold}`).join(', ')}`;
  return s;
}

function Revisions({ ep }) {
  const revs = [...(ep.revisions || [])].sort((a, b) => b.revision - a.revision);
  return (
    <table class="list" aria-labelledby="revisions-h" data-testid="revisions">
      <thead>
        <tr>
          <th scope="col">Revision</th>
          <th scope="col">State</th>
          <th scope="col">Routes</th>
          <th scope="col">Rollout</th>
          <th scope="col">Created</th>
          <th scope="col">By</th>
          <th scope="col">Reason</th>
        </tr>
      </thead>
      <tbody>
        {revs.map((r) => (
          <tr key={r.revision} data-testid="revision-row">
            <th scope="row">{r.revision}</th>
            <td data-testid="revision-state">{revisionState(ep, r)}</td>
            <td>
              {(r.routes || []).map((rt, i) => (
                <div key={i}>{routeText(rt)}</div>
              ))}
              {r.mirror && <div>mirror {routeText(r.mirror)}</div>}
            </td>
            <td>{policyText(r.rollout)}</td>
            <td class="time">{formatTime(r.created_ms)}</td>
            <td>{r.created_by}</td>
            <td>{r.reason}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function detailText(d) {
  if (!d || (typeof d === 'object' && !Object.keys(d).length)) return '';
  return JSON.stringify(d);
}

function Events({ events }) {
  if (!events.length) return <p>No events.</p>;
  const rows = [...events].reverse();
  return (
    <table class="list events" aria-labelledby="events-h" data-testid="events">
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Action</th>
          <th scope="col">Actor</th>
          <th scope="col">Reason</th>
          <th scope="col">Revision</th>
          <th scope="col">Detail</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((e) => (
          <tr key={e.id} data-testid="event-row">
            <td class="time">{formatTime(e.timestamp_ms)}</td>
            <td>{e.action}</td>
            <td>{e.actor}</td>
            <td>{e.reason}</td>
            <td>{e.revision || ''}</td>
            <td class="detail mono">{detailText(e.detail)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function rollbackTarget(ep) {
  const st = ep?.status;
  if (!st) return 0;
  if (st.pending && st.rollout) return st.rollout.from_revision;
  return st.previous_rolled_out_revision || 0;
}

export function EndpointPage({ name }) {
  const ep = useSignal(null);
  const events = useSignal([]);
  const error = useSignal('');
  const eventsError = useSignal('');
  const refreshedAt = useSignal(0);
  const dialogOpen = useSignal(false);
  const reason = useSignal('');
  const busy = useSignal(false);
  const actionError = useSignal('');
  const outcome = useSignal('');
  const ctlRef = useRef(null);

  async function load() {
    ctlRef.current?.abort();
    const ctl = new AbortController();
    ctlRef.current = ctl;
    try {
      const [view, evs] = await Promise.all([
        getEndpoint(name, ctl.signal),
        endpointEvents(name, ctl.signal).catch((e) => {
          if (e.name !== 'AbortError') eventsError.value = e.message;
          return null;
        }),
      ]);
      ep.value = view;
      if (evs) {
        events.value = evs.events || [];
        eventsError.value = '';
      }
      error.value = '';
      refreshedAt.value = Date.now();
    } catch (e) {
      if (e.name !== 'AbortError') error.value = e.message;
    }
  }

  useEffect(() => {
    ep.value = null;
    events.value = [];
    outcome.value = '';
    load();
    const timer = setInterval(() => {
      if (!dialogOpen.value && !busy.value && document.visibilityState === 'visible') load();
    }, REFRESH_MS);
    return () => {
      clearInterval(timer);
      ctlRef.current?.abort();
    };
  }, [name]);

  const view = ep.value;
  const target = rollbackTarget(view);

  async function confirmRollback() {
    busy.value = true;
    actionError.value = '';
    try {
      ctlRef.current?.abort();
      const { endpoint, auditId } = await rollbackEndpoint(name, reason.value.trim());
      ep.value = endpoint;
      dialogOpen.value = false;
      const live = (endpoint.status?.revision_traffic || []).map((s) => `revision ${s.revision} ${s.percent} %`).join(', ');
      outcome.value = `Rolled back to revision ${endpoint.status?.rolled_out_revision}; traffic now: ${live || 'none'}.${
        auditId ? ` Audit record ${auditId}.` : ''
      }`;
      reason.value = '';
      await load();
    } catch (e) {
      actionError.value = e.message;
    } finally {
      busy.value = false;
    }
  }

  return (
    <main id="main" class="endpoints">
      <p class="crumbs">
        <a href="/ui/endpoints">Endpoints</a> /
      </p>
      <div class="title-row">
        <h1>{name}</h1>
        {view && (
          <button
            type="button"
            class="danger"
            disabled={!target}
            title={target ? '' : 'There is no earlier revision to return to'}
            onClick={() => {
              actionError.value = '';
              outcome.value = '';
              dialogOpen.value = true;
            }}
          >
            Roll back…
          </button>
        )}
      </div>
      {error.value && (
        <p role="alert" class="error">
          {error.value}
        </p>
      )}
      <p class="status-line" role="status" data-testid="rollback-outcome">
        {outcome.value}
      </p>
      {!view && !error.value && <p aria-live="polite">Loading…</p>}
      {view && (
        <>
          <dl class="facts">
            <dt>Description</dt>
            <dd>{view.description || <span class="muted">none</span>}</dd>
            <dt>Revisions</dt>
            <dd data-testid="revision-summary">
              latest {view.status.latest_revision}, rolled out {view.status.rolled_out_revision || 'none'}, previous{' '}
              {view.status.previous_rolled_out_revision || 'none'}
            </dd>
            <dt>Alias following</dt>
            <dd>{view.follow_aliases ? 'on' : 'off'}</dd>
            <dt>Created</dt>
            <dd>
              <span class="time">{formatTime(view.created_ms)}</span> by {view.created_by}
            </dd>
            <dt>Refreshed</dt>
            <dd class="time" data-testid="refreshed">
              {formatTime(refreshedAt.value)} (every {REFRESH_MS / 1000} s)
            </dd>
          </dl>

          <h2 id="rollout-h">Rollout</h2>
          <RolloutProgress ep={view} />

          <h2 id="traffic-h">Traffic split</h2>
          <TrafficSplit ep={view} />

          <h2 id="revisions-h">Revisions</h2>
          <Revisions ep={view} />

          <h2 id="events-h">Events</h2>
          {eventsError.value && (
            <p role="alert" class="error">
              Events could not be read: {eventsError.value}
            </p>
          )}
          <Events events={events.value} />
        </>
      )}
      <ConfirmDialog
        open={dialogOpen.value}
        title={`Roll back ${name}?`}
        confirmLabel={`Roll back to revision ${target}`}
        busy={busy.value}
        error={actionError.value}
        testId="rollback-dialog"
        onCancel={() => {
          dialogOpen.value = false;
          actionError.value = '';
          reason.value = '';
        }}
        onConfirm={confirmRollback}
      >
        <p>
          {view?.status?.pending
            ? `This stops the rollout of revision ${view.status.rollout?.to_revision} and sends all traffic to revision ${target}.`
            : `Revision ${target} takes all traffic again, at once (its models are still loaded).`}{' '}
          The rollback is recorded in the endpoint's events and the audit log.
        </p>
        <label for="rollback-reason">Reason</label>
        <input
          id="rollback-reason"
          type="text"
          autofocus
          maxLength={1024}
          value={reason.value}
          onInput={(e) => (reason.value = e.currentTarget.value)}
          placeholder="e.g. canary raises false positives"
          autocomplete="off"
        />
      </ConfirmDialog>
    </main>
  );
}

export const routes = [
  { path: '/ui/endpoints', component: EndpointList },
  { path: '/ui/endpoints/:name', component: EndpointPage },
];
export const nav = { label: 'Endpoints', href: '/ui/endpoints', order: 30 };
