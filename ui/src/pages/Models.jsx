// Registered models (MLflow's registered-models/search, paged, filtered by
// name on the server) and one model's page: description, tags, aliases, its
// versions (stage, status, source run, servability from kiln's package
// reader) and lineage from run to version to the endpoint revisions that
// route to it (the platform API).
import { useEffect } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { apiRequest, mlflowGet } from '../api.js';
import {
  endpointHref,
  formatTime,
  listEndpoints,
  liveShare,
  modelHref,
  modelVersions,
  runHref,
} from '../components/platform.js';
import './Models.css';

const PAGE_SIZE = 25;

function likeFilter(text) {
  const t = text.trim();
  if (!t) return '';
  // ILIKE is case-insensitive; % and _ typed by the user keep their meaning.
  return `name ILIKE '%${t.replace(/'/g, "\\'")}%'`;
}

function latestVersion(m) {
  const versions = (m.latest_versions || []).map((v) => Number(v.version));
  return versions.length ? String(Math.max(...versions)) : '';
}

function Aliases({ aliases, name }) {
  if (!aliases?.length) return <span class="muted">none</span>;
  return (
    <ul class="chips">
      {aliases.map((a) => (
        <li key={a.alias} class="chip">
          @{a.alias}
          {name ? <> → <a href={`${modelHref(name)}#version-${a.version}`}>v{a.version}</a></> : <> → v{a.version}</>}
        </li>
      ))}
    </ul>
  );
}

function Tags({ tags }) {
  if (!tags?.length) return <span class="muted">none</span>;
  return (
    <ul class="chips">
      {tags.map((t) => (
        <li key={t.key} class="chip">
          {t.key}={t.value}
        </li>
      ))}
    </ul>
  );
}

export function ModelList() {
  const draft = useSignal('');
  const filter = useSignal('');
  // Tokens of the pages before the current one (the first page has '').
  const tokens = useSignal(['']);
  const page = useSignal(null);
  const error = useSignal('');

  useEffect(() => {
    const ctl = new AbortController();
    const token = tokens.value[tokens.value.length - 1];
    page.value = null;
    error.value = '';
    mlflowGet(
      '/registered-models/search',
      { filter: likeFilter(filter.value), max_results: PAGE_SIZE, order_by: 'name ASC', page_token: token },
      ctl.signal,
    )
      .then((p) => (page.value = p))
      .catch((e) => {
        if (e.name !== 'AbortError') error.value = e.message;
      });
    return () => ctl.abort();
  }, [filter.value, tokens.value]);

  const models = page.value?.registered_models || [];
  const pageNo = tokens.value.length;

  return (
    <main id="main" class="models">
      <h1>Registered models</h1>
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          filter.value = draft.value;
          tokens.value = [''];
        }}
      >
        <label for="model-filter">Name contains</label>
        <input
          id="model-filter"
          type="search"
          placeholder="fraud"
          value={draft.value}
          onInput={(e) => (draft.value = e.currentTarget.value)}
          spellcheck={false}
          autocomplete="off"
        />
        <button type="submit">Filter</button>
      </form>
      {error.value && (
        <p role="alert" class="error">
          {error.value}
        </p>
      )}
      {!page.value && !error.value && <p aria-live="polite">Loading…</p>}
      {page.value && (
        <>
          <table class="list" data-testid="models">
            <caption class="sr-only">Registered models</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Latest version</th>
                <th scope="col">Aliases</th>
                <th scope="col">Description</th>
                <th scope="col">Last updated</th>
              </tr>
            </thead>
            <tbody>
              {models.map((m) => (
                <tr key={m.name} data-testid="model-row">
                  <td>
                    <a href={modelHref(m.name)}>{m.name}</a>
                  </td>
                  <td>{latestVersion(m) ? `v${latestVersion(m)}` : <span class="muted">no versions</span>}</td>
                  <td>
                    <Aliases aliases={m.aliases} />
                  </td>
                  <td class="desc">{m.description || ''}</td>
                  <td class="time">{formatTime(m.last_updated_timestamp)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {models.length === 0 && <p>No registered model matches.</p>}
          <nav class="pager" aria-label="Model list pages">
            <button type="button" disabled={pageNo === 1} onClick={() => (tokens.value = tokens.value.slice(0, -1))}>
              Previous page
            </button>
            <span aria-live="polite" data-testid="model-page">
              Page {pageNo}
            </span>
            <button
              type="button"
              disabled={!page.value.next_page_token}
              onClick={() => (tokens.value = [...tokens.value, page.value.next_page_token])}
            >
              Next page
            </button>
          </nav>
        </>
      )}
    </main>
  );
}

// For each version: the endpoint revisions whose routes name it, and the
// share of traffic it takes now.
function servingRevisions(endpoints, model) {
  const byVersion = {};
  for (const ep of endpoints) {
    for (const rev of ep.revisions || []) {
      for (const r of rev.routes || []) {
        if (r.model !== model) continue;
        const key = String(r.version);
        (byVersion[key] ||= []).push({
          endpoint: ep.name,
          revision: rev.revision,
          percent: r.percent,
          live: liveShare(ep, rev.revision, model, r.version),
        });
      }
    }
  }
  return byVersion;
}

function Serving({ list }) {
  if (!list?.length) return <span class="muted">no endpoint</span>;
  return (
    <ul class="serving">
      {list.map((s) => (
        <li key={`${s.endpoint}-${s.revision}`}>
          <a href={endpointHref(s.endpoint)}>
            {s.endpoint} revision {s.revision}
          </a>{' '}
          {s.live !== null ? (
            <span class="badge live">live {s.live} %</span>
          ) : (
            <span class="badge past">not routed now</span>
          )}
        </li>
      ))}
    </ul>
  );
}

function Package({ pkg }) {
  if (pkg === undefined) return <span class="muted">…</span>;
  if (pkg.error) return <span class="muted">{pkg.error}</span>;
  if (pkg.servable) return <span>{pkg.runtime || 'servable'}</span>;
  return <span title={pkg.reason || ''}>not servable{pkg.reason ? `: ${pkg.reason}` : ''}</span>;
}

export function ModelPage({ name }) {
  const model = useSignal(null);
  const versions = useSignal(null);
  const endpoints = useSignal(null);
  const endpointsError = useSignal('');
  const packages = useSignal({});
  const error = useSignal('');

  useEffect(() => {
    const ctl = new AbortController();
    model.value = null;
    versions.value = null;
    error.value = '';
    Promise.all([mlflowGet('/registered-models/get', { name }, ctl.signal), modelVersions(name, ctl.signal)])
      .then(([m, vs]) => {
        model.value = m.registered_model;
        versions.value = vs;
        // kiln's package reader: what runtime would serve each version.
        for (const v of vs.slice(0, 50)) {
          apiRequest('GET', '/api/2.0/kiln/model-versions/get-package', { query: { name, version: v.version }, signal: ctl.signal })
            .then((p) => (packages.value = { ...packages.value, [v.version]: p.package || {} }))
            .catch((e) => {
              if (e.name !== 'AbortError') packages.value = { ...packages.value, [v.version]: { error: e.message } };
            });
        }
      })
      .catch((e) => {
        if (e.name !== 'AbortError') error.value = e.message;
      });
    listEndpoints(ctl.signal)
      .then((eps) => (endpoints.value = eps))
      .catch((e) => {
        if (e.name !== 'AbortError') endpointsError.value = e.message;
      });
    return () => ctl.abort();
  }, [name]);

  const m = model.value;
  const serving = endpoints.value ? servingRevisions(endpoints.value, name) : null;
  const aliasesOf = (v) => (m?.aliases || []).filter((a) => a.version === v).map((a) => a.alias);

  return (
    <main id="main" class="models">
      <p class="crumbs">
        <a href="/ui/models">Registered models</a> /
      </p>
      <h1>{name}</h1>
      {error.value && (
        <p role="alert" class="error">
          {error.value}
        </p>
      )}
      {!m && !error.value && <p aria-live="polite">Loading…</p>}
      {m && (
        <>
          <dl class="facts">
            <dt>Description</dt>
            <dd data-testid="model-description">{m.description || <span class="muted">none</span>}</dd>
            <dt>Tags</dt>
            <dd>
              <Tags tags={m.tags} />
            </dd>
            <dt>Aliases</dt>
            <dd data-testid="model-aliases">
              <Aliases aliases={m.aliases} name={name} />
            </dd>
            <dt>Created</dt>
            <dd class="time">{formatTime(m.creation_timestamp)}</dd>
            <dt>Last updated</dt>
            <dd class="time">{formatTime(m.last_updated_timestamp)}</dd>
          </dl>

          <h2 id="versions-h">Versions</h2>
          {endpointsError.value && (
            <p role="alert" class="error">
              Endpoints could not be read, so serving is unknown: {endpointsError.value}
            </p>
          )}
          <table class="list" aria-labelledby="versions-h" data-testid="versions">
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Stage</th>
                <th scope="col">Status</th>
                <th scope="col">Aliases</th>
                <th scope="col">Source run</th>
                <th scope="col">Runtime</th>
                <th scope="col">Tags</th>
                <th scope="col">Description</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {(versions.value || []).map((v) => (
                <tr key={v.version} id={`version-${v.version}`} data-testid="version-row">
                  <th scope="row">v{v.version}</th>
                  <td>{v.current_stage || 'None'}</td>
                  <td title={v.status_message || ''}>{v.status}</td>
                  <td>{aliasesOf(v.version).map((a) => `@${a}`).join(' ') || <span class="muted">none</span>}</td>
                  <td>
                    {v.run_id ? (
                      <a href={runHref(v.run_id)} class="mono">
                        {v.run_id.slice(0, 12)}
                      </a>
                    ) : (
                      <span class="muted">no run</span>
                    )}
                  </td>
                  <td>
                    <Package pkg={packages.value[v.version]} />
                  </td>
                  <td>
                    <Tags tags={v.tags} />
                  </td>
                  <td class="desc">{v.description || ''}</td>
                  <td class="time">{formatTime(v.creation_timestamp)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {versions.value?.length === 0 && <p>This model has no versions.</p>}

          <h2 id="lineage-h">Lineage</h2>
          <p class="muted">Training run → registered version → endpoint revisions that route to it.</p>
          {!serving && !endpointsError.value && <p aria-live="polite">Loading endpoints…</p>}
          {serving && (
            <table class="list lineage" aria-labelledby="lineage-h" data-testid="lineage">
              <thead>
                <tr>
                  <th scope="col">Run</th>
                  <th scope="col">Version</th>
                  <th scope="col">Endpoint revisions</th>
                </tr>
              </thead>
              <tbody>
                {(versions.value || []).map((v) => (
                  <tr key={v.version} data-testid="lineage-row">
                    <td>
                      {v.run_id ? (
                        <a href={runHref(v.run_id)} class="mono">
                          run {v.run_id.slice(0, 12)}
                        </a>
                      ) : (
                        <span class="muted">no run</span>
                      )}
                    </td>
                    <td>
                      <span aria-hidden="true">→ </span>v{v.version}
                    </td>
                    <td>
                      <Serving list={serving[String(v.version)]} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </main>
  );
}

export const routes = [
  { path: '/ui/models', component: ModelList },
  { path: '/ui/models/:name', component: ModelPage },
];
export const nav = { label: 'Models', href: '/ui/models', order: 20 };
