// Feature store pages: Feast projects, their entities, data sources, feature
// views (schema, ttl, freshness), on-demand views, feature services, lineage
// and materialization jobs, read from kiln's JSON routes under
// /api/2.0/kiln/ui/features (src/api/feast/feature_ui_routes.h) and, for the
// endpoints bound to a feature service, the platform API.
import { useEffect } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { apiRequest } from '../api.js';
import './Features.css';

const BASE = '/api/2.0/kiln/ui/features';
const POLL_MS = 1000;

const getJson = (path, signal) => apiRequest('GET', BASE + path, { signal });
const enc = encodeURIComponent;

// "2026-12-02T04:45:58Z" -> "2026-12-02 04:45:58 UTC"; null -> ''.
function formatTime(t) {
  if (!t) return '';
  return t.replace('T', ' ').replace(/(\.\d+)?Z$/, '') + ' UTC';
}

// Seconds as the two largest units: 86400 -> "1 d", 5400 -> "1 h 30 min".
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return '';
  const neg = seconds < 0;
  let s = Math.round(Math.abs(seconds));
  if (s === 0) return neg ? '0 s' : '0 s';
  const units = [
    ['d', 86400],
    ['h', 3600],
    ['min', 60],
    ['s', 1],
  ];
  const parts = [];
  for (const [name, size] of units) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)} ${name}`);
      s %= size;
    }
    if (parts.length === 2) break;
    if (parts.length === 1 && s === 0) break;
  }
  return (neg ? '-' : '') + parts.join(' ');
}

function formatTtl(seconds) {
  return seconds > 0 ? formatDuration(seconds) : 'none';
}

const FRESHNESS_LABEL = {
  fresh: 'fresh',
  stale: 'stale',
  no_data: 'no data',
  unknown: 'unknown',
  not_online: 'not online',
  on_demand: 'computed on request',
};

const FRESHNESS_HELP = {
  fresh: 'the newest online value is within the ttl',
  stale: 'the newest online value is older than the ttl: online reads answer OUTSIDE_MAX_AGE',
  no_data: 'no value is stored online for this view (not materialized or written yet)',
  unknown: 'the online store cannot tell the newest value’s time',
  not_online: 'the view is not served online',
  on_demand: 'on-demand view: nothing is stored',
};

export function FreshnessBadge({ freshness }) {
  const state = freshness?.state || 'unknown';
  return (
    <span class={`fresh-badge fresh-${state}`} data-testid="freshness" data-state={state} title={FRESHNESS_HELP[state]}>
      <span aria-hidden="true" class="fresh-dot" />
      {FRESHNESS_LABEL[state] || state}
    </span>
  );
}

// "newest value 2 h ago, ttl 1 min" (the age is measured when the server answered).
function freshnessDetail(f) {
  if (!f) return '';
  if (f.state === 'unknown') return f.reason || '';
  if (!f.newest_event) return f.state === 'no_data' ? 'no stored value' : '';
  const age = f.age_seconds < 0 ? `${formatDuration(-f.age_seconds)} in the future` : `${formatDuration(f.age_seconds)} ago`;
  return `newest value ${age}`;
}

function useLoad(load, deps) {
  const data = useSignal(null);
  const error = useSignal('');
  useEffect(() => {
    const ctl = new AbortController();
    data.value = null;
    error.value = '';
    load(ctl.signal)
      .then((d) => (data.value = d))
      .catch((e) => {
        if (e.name !== 'AbortError') error.value = e.message;
      });
    return () => ctl.abort();
  }, deps);
  return { data, error };
}

function Crumbs({ project, view }) {
  return (
    <nav aria-label="Breadcrumb" class="crumbs">
      <a href="/ui/features">Feature projects</a>
      {project && (
        <>
          <span aria-hidden="true"> / </span>
          {view ? <a href={`/ui/features/${enc(project)}`}>{project}</a> : <span aria-current="page">{project}</span>}
        </>
      )}
      {view && (
        <>
          <span aria-hidden="true"> / </span>
          <span aria-current="page">{view}</span>
        </>
      )}
    </nav>
  );
}

function Status({ error, loading }) {
  if (error) return <p role="alert" class="error">{error}</p>;
  if (loading) return <p aria-live="polite">Loading…</p>;
  return null;
}

export function FeatureProjects() {
  const { data, error } = useLoad((signal) => getJson('/projects', signal), []);
  const projects = data.value?.projects;
  return (
    <main id="main" class="features">
      <h1>Feature projects</h1>
      <Status error={error.value} loading={!data.value} />
      {projects && projects.length === 0 && (
        <p data-testid="no-projects">No Feast project has been applied to this server yet (run <code>feast apply</code> against its registry).</p>
      )}
      {projects && projects.length > 0 && (
        <table class="list" data-testid="projects">
          <caption class="sr-only">Feast projects</caption>
          <thead>
            <tr>
              <th scope="col">Project</th>
              <th scope="col">Description</th>
              <th scope="col" class="num">Entities</th>
              <th scope="col" class="num">Data sources</th>
              <th scope="col" class="num">Feature views</th>
              <th scope="col" class="num">On-demand views</th>
              <th scope="col" class="num">Feature services</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {projects.map((p) => (
              <tr key={p.name}>
                <td>
                  <a href={`/ui/features/${enc(p.name)}`}>{p.name}</a>
                </td>
                <td>{p.description}</td>
                <td class="num">{p.counts.entities}</td>
                <td class="num">{p.counts.data_sources}</td>
                <td class="num">{p.counts.feature_views}</td>
                <td class="num">{p.counts.on_demand_feature_views}</td>
                <td class="num">{p.counts.feature_services}</td>
                <td class="time">{formatTime(p.updated)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}

// The project's data. Its materialization jobs are polled (cheap: memory
// only on the server), every second while one runs and every few seconds
// otherwise so a job started elsewhere shows up; when the jobs change (one
// starts or finishes) the whole project is reloaded, since freshness and the
// recorded windows move with them.
const IDLE_POLL_MS = 5000;
const jobsKey = (jobs) => jobs.map((j) => `${j.job_id}:${j.state}`).join(',');

function useProject(project) {
  const detail = useSignal(null);
  const error = useSignal('');
  useEffect(() => {
    const ctl = new AbortController();
    let stopped = false;
    let timer = null;
    let key = '';
    detail.value = null;
    error.value = '';
    const schedule = (running) => {
      if (!stopped) timer = setTimeout(poll, running > 0 ? POLL_MS : IDLE_POLL_MS);
    };
    const loadAll = async () => {
      const d = await getJson(`/projects/${enc(project)}`, ctl.signal);
      if (stopped) return 0;
      key = jobsKey(d.materializations);
      detail.value = d;
      return d.running;
    };
    const poll = async () => {
      try {
        const m = await getJson(`/projects/${enc(project)}/materializations`, ctl.signal);
        if (stopped) return;
        const changed = jobsKey(m.materializations) !== key;
        if (changed && m.running === 0) {
          schedule(await loadAll());
          return;
        }
        if (changed || m.running > 0) {
          key = jobsKey(m.materializations);
          detail.value = { ...detail.value, materializations: m.materializations, running: m.running };
        }
        schedule(m.running);
      } catch (e) {
        if (e.name !== 'AbortError') error.value = e.message;
      }
    };
    loadAll()
      .then(schedule)
      .catch((e) => {
        if (e.name !== 'AbortError') error.value = e.message;
      });
    return () => {
      stopped = true;
      clearTimeout(timer);
      ctl.abort();
    };
  }, [project]);
  return { detail, error };
}

// Endpoints whose rolled-out revision reads a feature service of this
// project. Resolves to {bindings: {service: [endpoint]}} or {error}.
function useEndpointBindings(project) {
  const state = useSignal(null);
  useEffect(() => {
    const ctl = new AbortController();
    apiRequest('GET', '/api/v1/endpoints', { signal: ctl.signal })
      .then((d) => {
        const bindings = {};
        for (const ep of d.endpoints || []) {
          const want = ep.status?.rolled_out_revision || ep.status?.latest_revision;
          const rev = (ep.revisions || []).find((r) => r.revision === want) || (ep.revisions || []).at(-1);
          const f = rev?.features;
          if (!f || !f.feature_service) continue;
          if (f.project && f.project !== project) continue;
          (bindings[f.feature_service] ||= []).push(ep.name);
        }
        state.value = { bindings };
      })
      .catch((e) => {
        if (e.name !== 'AbortError') state.value = { error: e.message };
      });
    return () => ctl.abort();
  }, [project]);
  return state;
}

function Endpoints({ bindings, service }) {
  if (!bindings) return <span class="muted">…</span>;
  if (bindings.error) return <span class="muted">endpoints not available: {bindings.error}</span>;
  const eps = bindings.bindings[service] || [];
  if (eps.length === 0) return <span class="muted">none</span>;
  return (
    <>
      {eps.map((e, i) => (
        <span key={e}>
          {i > 0 && ', '}
          <code>{e}</code>
        </span>
      ))}
    </>
  );
}

function JoinKeys({ entities }) {
  if (!entities.length) return <span class="muted">none (entityless)</span>;
  return (
    <>
      {entities.map((e, i) => (
        <span key={e.name}>
          {i > 0 && ', '}
          <code>{e.join_key}</code> <span class="muted">{e.value_type}</span>
        </span>
      ))}
    </>
  );
}

function JobState({ job }) {
  return (
    <span class={`job-state job-${job.state}`} data-testid="job-state">
      {job.state}
    </span>
  );
}

function JobProgress({ job }) {
  const total = job.rows_total;
  const done = job.rows_done;
  const label = `${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} rows`;
  return (
    <span class="job-progress">
      <progress max={Math.max(total, 1)} value={total ? done : job.state === 'running' ? undefined : 1} aria-label={label} />
      <span data-testid="job-rows">{label}</span>
      {job.state === 'running' && job.rows_per_second > 0 && (
        <span class="muted time">
          {' '}
          · {Math.round(job.rows_per_second).toLocaleString('en-US')} rows/s, about {formatDuration(job.eta_seconds)} left
        </span>
      )}
    </span>
  );
}

function MaterializationTable({ jobs, view }) {
  const rows = view ? jobs.filter((j) => j.views.some((v) => v.view === view)) : jobs;
  if (rows.length === 0) {
    return (
      <p class="muted" data-testid="no-jobs">
        No materialization job {view ? 'has copied this view ' : ''}since this server started.
      </p>
    );
  }
  return (
    <table class="list" data-testid="jobs">
      <caption class="sr-only">Materialization jobs, newest first</caption>
      <thead>
        <tr>
          <th scope="col">State</th>
          <th scope="col">Views and windows</th>
          <th scope="col">Rows</th>
          <th scope="col">Duration</th>
          <th scope="col">Started</th>
          <th scope="col">Finished</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((j) => (
          <tr key={j.job_id} data-testid="job-row" data-job={j.job_id}>
            <td>
              <JobState job={j} />
              {j.error && <div class="error">{j.error}</div>}
            </td>
            <td>
              {j.views.map((v) => (
                <div key={v.view}>
                  <code>{v.view}</code>{' '}
                  <span class="time">
                    {formatTime(v.start)} → {formatTime(v.end)}
                  </span>
                  {j.state === 'running' && j.view === v.view && <span class="muted"> (copying)</span>}
                </div>
              ))}
              {j.skipped?.length > 0 && <div class="muted">skipped: {j.skipped.join('; ')}</div>}
            </td>
            <td>
              <JobProgress job={j} />
            </td>
            <td class="time">{formatDuration(j.duration_seconds)}</td>
            <td class="time">{formatTime(j.started)}</td>
            <td class="time">{j.finished ? formatTime(j.finished) : 'running'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

// Rows of data source -> feature view -> feature service from the registry's
// lineage (Feast's GetRegistryLineage), plus the endpoints reading the service.
function lineageRows(detail) {
  const direct = detail.lineage.direct;
  const sourcesOf = {};
  const servicesOf = {};
  const isView = (t) => t === 'featureView' || t === 'labelView';
  for (const r of direct) {
    if (r.source.type === 'dataSource' && isView(r.target.type)) (sourcesOf[r.target.name] ||= []).push(r.source.name);
    if (isView(r.source.type) && isView(r.target.type)) (sourcesOf[r.target.name] ||= []).push(`view ${r.source.name}`);
    if (isView(r.source.type) && r.target.type === 'featureService') (servicesOf[r.source.name] ||= []).push(r.target.name);
  }
  const rows = [];
  for (const v of detail.feature_views) {
    const sources = [...new Set(sourcesOf[v.name] || [])];
    const services = [...new Set(servicesOf[v.name] || [])];
    for (const s of sources.length ? sources : ['']) {
      for (const svc of services.length ? services : ['']) rows.push({ source: s, view: v.name, service: svc });
    }
  }
  return rows;
}

const Arrow = () => (
  <span aria-hidden="true" class="arrow">
    {' '}
    →
  </span>
);

function Lineage({ detail, bindings }) {
  const rows = lineageRows(detail);
  if (rows.length === 0) return <p class="muted">No relations.</p>;
  return (
    <table class="list lineage" data-testid="lineage">
      <caption class="sr-only">Lineage: data source, feature view, feature service, endpoints</caption>
      <thead>
        <tr>
          <th scope="col">Data source</th>
          <th scope="col">Feature view</th>
          <th scope="col">Feature service</th>
          <th scope="col">Endpoints</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={i} data-testid="lineage-row">
            <td>
              {r.source ? <code>{r.source}</code> : <span class="muted">none</span>}
              <Arrow />
            </td>
            <td>
              <a href={`/ui/features/${enc(detail.project.name)}/views/${enc(r.view)}`}>{r.view}</a>
              <Arrow />
            </td>
            <td>
              {r.service ? <code>{r.service}</code> : <span class="muted">no service</span>}
              <Arrow />
            </td>
            <td>{r.service ? <Endpoints bindings={bindings} service={r.service} /> : <span class="muted">none</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function FeatureProject({ project }) {
  const { detail, error } = useProject(project);
  const bindings = useEndpointBindings(project);
  const d = detail.value;
  const views = d ? d.feature_views.filter((v) => v.kind !== 'on_demand') : [];
  const odfvs = d ? d.feature_views.filter((v) => v.kind === 'on_demand') : [];
  const viewHref = (v) => `/ui/features/${enc(project)}/views/${enc(v)}`;
  return (
    <main id="main" class="features">
      <Crumbs project={project} />
      <h1>
        {project} <span class="muted">Feast project</span>
      </h1>
      <Status error={error.value} loading={!d && !error.value} />
      {d && (
        <>
          {d.project.description && <p>{d.project.description}</p>}
          <p class="muted">
            Freshness judged at <span class="time">{formatTime(d.now)}</span>: the age of each view’s newest online value
            against its ttl.
          </p>

          <section aria-labelledby="h-views">
            <h2 id="h-views">Feature views</h2>
            {views.length === 0 ? (
              <p class="muted">No feature views.</p>
            ) : (
              <table class="list" data-testid="views">
                <caption class="sr-only">Feature views</caption>
                <thead>
                  <tr>
                    <th scope="col">View</th>
                    <th scope="col">Join keys</th>
                    <th scope="col" class="num">Features</th>
                    <th scope="col">TTL</th>
                    <th scope="col">Online</th>
                    <th scope="col">Offline</th>
                    <th scope="col">Freshness</th>
                    <th scope="col">Newest value</th>
                  </tr>
                </thead>
                <tbody>
                  {views.map((v) => (
                    <tr key={v.name} data-testid="view-row" data-view={v.name}>
                      <td>
                        <a href={viewHref(v.name)}>{v.name}</a>
                        {v.kind === 'stream' && <span class="muted"> (stream)</span>}
                      </td>
                      <td>
                        <JoinKeys entities={v.entities} />
                      </td>
                      <td class="num">{v.features.length}</td>
                      <td data-testid="view-ttl">{formatTtl(v.ttl_seconds)}</td>
                      <td>{v.online ? 'yes' : 'no'}</td>
                      <td>{v.offline ? 'yes' : 'no'}</td>
                      <td>
                        <FreshnessBadge freshness={v.freshness} />
                      </td>
                      <td class="time">{freshnessDetail(v.freshness)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>

          <section aria-labelledby="h-odfv">
            <h2 id="h-odfv">On-demand feature views</h2>
            {odfvs.length === 0 ? (
              <p class="muted">No on-demand feature views.</p>
            ) : (
              <>
                <p class="muted">
                  Listed from the registry; kiln does not run their Python transformations, so it neither serves nor
                  materializes them (the Feast SDK computes them client-side).
                </p>
                <table class="list" data-testid="odfvs">
                  <caption class="sr-only">On-demand feature views</caption>
                  <thead>
                    <tr>
                      <th scope="col">View</th>
                      <th scope="col">Inputs</th>
                      <th scope="col">Features</th>
                      <th scope="col">In kiln</th>
                    </tr>
                  </thead>
                  <tbody>
                    {odfvs.map((v) => (
                      <tr key={v.name} data-testid="odfv-row" data-view={v.name}>
                        <td>
                          <a href={viewHref(v.name)}>{v.name}</a>
                        </td>
                        <td>{[...(v.source_views || []).map((s) => `view ${s}`), ...(v.request_sources || []).map((s) => `request ${s}`)].join(', ')}</td>
                        <td>
                          {v.features.map((f, i) => (
                            <span key={f.name}>
                              {i > 0 && ', '}
                              <code>{f.name}</code> <span class="muted">{f.type}</span>
                            </span>
                          ))}
                        </td>
                        <td>
                          <span class="not-exec" data-testid="not-executable">not executable by kiln</span>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            )}
          </section>

          <section aria-labelledby="h-entities">
            <h2 id="h-entities">Entities</h2>
            {d.entities.length === 0 ? (
              <p class="muted">No entities.</p>
            ) : (
              <table class="list" data-testid="entities">
                <caption class="sr-only">Entities</caption>
                <thead>
                  <tr>
                    <th scope="col">Entity</th>
                    <th scope="col">Join key</th>
                    <th scope="col">Value type</th>
                    <th scope="col">Description</th>
                  </tr>
                </thead>
                <tbody>
                  {d.entities.map((e) => (
                    <tr key={e.name} data-testid="entity-row">
                      <td>{e.name}</td>
                      <td>
                        <code>{e.join_key}</code>
                      </td>
                      <td>{e.value_type}</td>
                      <td>{e.description}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>

          <section aria-labelledby="h-sources">
            <h2 id="h-sources">Data sources</h2>
            {d.data_sources.length === 0 ? (
              <p class="muted">No data sources.</p>
            ) : (
              <table class="list" data-testid="sources">
                <caption class="sr-only">Data sources</caption>
                <thead>
                  <tr>
                    <th scope="col">Source</th>
                    <th scope="col">Type</th>
                    <th scope="col">Location</th>
                    <th scope="col">Timestamp field</th>
                    <th scope="col">Created column</th>
                  </tr>
                </thead>
                <tbody>
                  {d.data_sources.map((s) => (
                    <tr key={s.name} data-testid="source-row">
                      <td>{s.name}</td>
                      <td>{s.type}</td>
                      <td class="path">
                        {s.path && <code class="mask-path">{s.path}</code>}
                        {s.batch_source && (
                          <span>
                            batch source <code>{s.batch_source}</code>
                          </span>
                        )}
                        {s.schema && (
                          <span>
                            request fields{' '}
                            {s.schema.map((f, i) => (
                              <span key={f.name}>
                                {i > 0 && ', '}
                                <code>{f.name}</code> <span class="muted">{f.value_type}</span>
                              </span>
                            ))}
                          </span>
                        )}
                        {s.readable_by_kiln === false && <div class="error">kiln cannot read it: {s.unreadable_reason}</div>}
                      </td>
                      <td>{s.timestamp_field}</td>
                      <td>{s.created_timestamp_column}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>

          <section aria-labelledby="h-services">
            <h2 id="h-services">Feature services</h2>
            {d.feature_services.length === 0 ? (
              <p class="muted">No feature services.</p>
            ) : (
              <table class="list" data-testid="services">
                <caption class="sr-only">Feature services</caption>
                <thead>
                  <tr>
                    <th scope="col">Service</th>
                    <th scope="col">Views and features</th>
                    <th scope="col">Endpoints</th>
                  </tr>
                </thead>
                <tbody>
                  {d.feature_services.map((s) => (
                    <tr key={s.name} data-testid="service-row" data-service={s.name}>
                      <td>
                        <code>{s.name}</code>
                        {s.description && <div class="muted">{s.description}</div>}
                      </td>
                      <td>
                        {s.views.map((p) => (
                          <div key={p.view} data-testid="service-view">
                            <a href={viewHref(p.view)}>{p.view}</a>
                            {p.alias && <span class="muted"> as {p.alias}</span>}:{' '}
                            {p.features.length ? p.features.join(', ') : <span class="muted">every feature</span>}
                          </div>
                        ))}
                      </td>
                      <td>
                        <Endpoints bindings={bindings.value} service={s.name} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>

          <section aria-labelledby="h-lineage">
            <h2 id="h-lineage">Lineage</h2>
            <Lineage detail={d} bindings={bindings.value} />
          </section>

          <section aria-labelledby="h-jobs">
            <h2 id="h-jobs">Materialization history</h2>
            <p class="muted">
              kiln’s materialization jobs since this server started (<code>/materialize?async=true</code>, e.g.{' '}
              <code>store.materialize(..., run_async=True)</code>), newest first
              {d.running > 0 ? '; updating while a job runs' : ''}. Synchronous runs are not jobs: every completed window is
              recorded on its view.
            </p>
            <div aria-live="polite">
              <MaterializationTable jobs={d.materializations} />
            </div>
          </section>
        </>
      )}
    </main>
  );
}

export function FeatureViewPage({ project, view }) {
  const { detail, error } = useProject(project);
  const fresh = useLoad((signal) => getJson(`/projects/${enc(project)}/views/${enc(view)}/freshness`, signal), [project, view]);
  const bindings = useEndpointBindings(project);
  const d = detail.value;
  const v = d?.feature_views.find((x) => x.name === view);
  const services = d ? d.feature_services.filter((s) => s.views.some((p) => p.view === view)) : [];
  const f = fresh.data.value || v?.freshness;
  return (
    <main id="main" class="features">
      <Crumbs project={project} view={view} />
      <h1>
        {view} <span class="muted">{v?.kind === 'on_demand' ? 'on-demand feature view' : 'feature view'}</span>
      </h1>
      <Status error={error.value} loading={!d && !error.value} />
      {d && !v && (
        <p role="alert" class="error">
          Feature view {view} does not exist in project {project}.
        </p>
      )}
      {v && (
        <>
          {v.description && <p>{v.description}</p>}
          {v.kind === 'on_demand' && (
            <p class="not-exec-note" data-testid="not-executable">
              Not executable by kiln: {v.not_executable_reason}.
            </p>
          )}
          <dl class="facts" data-testid="view-facts">
            <dt>Kind</dt>
            <dd>{v.kind.replace('_', '-')}</dd>
            <dt>Join keys</dt>
            <dd>
              <JoinKeys entities={v.entities} />
            </dd>
            <dt>TTL</dt>
            <dd data-testid="view-ttl">{formatTtl(v.ttl_seconds)}</dd>
            <dt>Online</dt>
            <dd>{v.online ? 'yes' : 'no'}</dd>
            <dt>Offline</dt>
            <dd>{v.offline ? 'yes' : 'no'}</dd>
            {v.batch_source && (
              <>
                <dt>Batch source</dt>
                <dd>
                  <code>{v.batch_source}</code>
                  {v.batch_source_error && <span class="error"> (kiln cannot read it: {v.batch_source_error})</span>}
                </dd>
              </>
            )}
            {v.push_source && (
              <>
                <dt>Push source</dt>
                <dd>
                  <code>{v.push_source}</code>
                </dd>
              </>
            )}
            {v.stream_source && (
              <>
                <dt>Stream source</dt>
                <dd>
                  <code>{v.stream_source}</code>
                </dd>
              </>
            )}
            {v.kind === 'on_demand' && (
              <>
                <dt>Inputs</dt>
                <dd>
                  {[...(v.source_views || []).map((s) => `view ${s}`), ...(v.request_sources || []).map((s) => `request ${s}`)].join(', ')}
                </dd>
              </>
            )}
            <dt>Feature services</dt>
            <dd>
              {services.length ? (
                services.map((s, i) => (
                  <span key={s.name}>
                    {i > 0 && ', '}
                    <code>{s.name}</code> <span class="muted">(endpoints: </span>
                    <Endpoints bindings={bindings.value} service={s.name} />
                    <span class="muted">)</span>
                  </span>
                ))
              ) : (
                <span class="muted">none</span>
              )}
            </dd>
          </dl>

          <section aria-labelledby="h-fresh">
            <h2 id="h-fresh">Freshness</h2>
            {fresh.error.value && <p role="alert" class="error">{fresh.error.value}</p>}
            <p data-testid="view-freshness">
              <FreshnessBadge freshness={f} /> <span class="muted">{FRESHNESS_HELP[f?.state] || ''}</span>
            </p>
            {f?.newest_event && (
              <p>
                Newest online value: <span class="time">{formatTime(f.newest_event)}</span> (
                <span class="time">{freshnessDetail(f)}</span>), ttl {formatTtl(f.ttl_seconds)}; judged at{' '}
                <span class="time">{formatTime(f.checked)}</span>.
              </p>
            )}
            {f?.state === 'unknown' && f.reason && <p class="muted">{f.reason}</p>}
          </section>

          <section aria-labelledby="h-schema">
            <h2 id="h-schema">Schema</h2>
            <table class="list" data-testid="schema">
              <caption class="sr-only">Features of {view}</caption>
              <thead>
                <tr>
                  <th scope="col">Feature</th>
                  <th scope="col">Type</th>
                  <th scope="col">Value type</th>
                </tr>
              </thead>
              <tbody>
                {v.features.map((c) => (
                  <tr key={c.name} data-testid="schema-row">
                    <td>
                      <code>{c.name}</code>
                    </td>
                    <td>{c.type}</td>
                    <td class="muted">{c.value_type}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>

          {v.kind !== 'on_demand' && (
            <section aria-labelledby="h-windows">
              <h2 id="h-windows">Materialized windows</h2>
              {v.materialization_intervals.length === 0 ? (
                <p class="muted" data-testid="no-windows">
                  None recorded: this view has not been materialized.
                </p>
              ) : (
                <table class="list" data-testid="windows">
                  <caption class="sr-only">Windows recorded in the registry</caption>
                  <thead>
                    <tr>
                      <th scope="col">Start</th>
                      <th scope="col">End</th>
                    </tr>
                  </thead>
                  <tbody>
                    {v.materialization_intervals.map((w, i) => (
                      <tr key={i}>
                        <td class="time">{formatTime(w.start)}</td>
                        <td class="time">{formatTime(w.end)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              <h3>Jobs</h3>
              <MaterializationTable jobs={d.materializations} view={view} />
            </section>
          )}
        </>
      )}
    </main>
  );
}

export const routes = [
  { path: '/ui/features', component: FeatureProjects },
  { path: '/ui/features/:project', component: FeatureProject },
  { path: '/ui/features/:project/views/:view', component: FeatureViewPage },
];
export const nav = { label: 'Features', href: '/ui/features', order: 40 };
