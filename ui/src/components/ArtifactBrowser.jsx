// A lazy artifact tree (one listing request per directory, when it is first
// opened) beside a preview of the selected file. Keyboard: the WAI-ARIA tree
// pattern (Up/Down, Right opens or enters, Left closes or goes to the parent,
// Home/End, Enter/Space selects a file or toggles a folder) with one tab stop.
//
// A source says where the files are:
//   runArtifactSource(runId)            MLflow's artifacts/list + /get-artifact
//   loggedModelArtifactSource(modelId)  logged-models/{id}/artifacts/...
import { useEffect, useRef } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { apiRequest, mlflowGet } from '../api.js';
import { ArtifactPreview, baseName, formatBytes } from './ArtifactPreview.jsx';
import './ArtifactBrowser.css';

function query(params) {
  return new URLSearchParams(params).toString();
}

function normalise(files) {
  return (files || []).map((f) => ({
    path: f.path,
    is_dir: Boolean(f.is_dir),
    size: f.file_size === undefined || f.file_size === null ? null : Number(f.file_size),
  }));
}

export function runArtifactSource(runId) {
  return {
    key: `run:${runId}`,
    list: async (path, signal) =>
      normalise((await mlflowGet('/artifacts/list', { run_id: runId, path }, signal)).files),
    url: (path) => `/get-artifact?${query({ run_id: runId, path })}`,
    fetch: (path, { headers, signal } = {}) =>
      apiRequest('GET', '/get-artifact', { query: { run_id: runId, path }, raw: true, headers, signal }),
  };
}

export function loggedModelArtifactSource(modelId) {
  // MLflow's server answers a logged model's files on the ajax path only.
  const base = `/ajax-api/2.0/mlflow/logged-models/${encodeURIComponent(modelId)}/artifacts`;
  return {
    key: `model:${modelId}`,
    list: async (path, signal) =>
      normalise(
        (await mlflowGet(`/logged-models/${encodeURIComponent(modelId)}/artifacts/directories`, { artifact_directory_path: path }, signal))
          .files,
      ),
    url: (path) => `${base}/files?${query({ artifact_file_path: path })}`,
    fetch: (path, { headers, signal } = {}) =>
      apiRequest('GET', `${base}/files`, { query: { artifact_file_path: path }, raw: true, headers, signal }),
  };
}

// The rows a user sees: children of the root, then of every open folder.
function visibleRows(dirs, expanded) {
  const out = [];
  const walk = (path, level) => {
    const d = dirs[path];
    if (!d || !d.children) return;
    d.children.forEach((c, i) => {
      out.push({ ...c, level, posinset: i + 1, setsize: d.children.length, parent: path });
      if (c.is_dir && expanded.has(c.path)) walk(c.path, level + 1);
    });
  };
  walk('', 1);
  return out;
}

export function ArtifactBrowser({ source, label, initialPath, onSelect }) {
  // path -> {state: 'loading'|'loaded'|'error', children, error}
  const dirs = useSignal({});
  const expanded = useSignal(new Set());
  const selected = useSignal(null); // {path, size}
  const focused = useSignal('');
  const treeRef = useRef(null);
  const ctl = useRef(null);

  const pending = useRef(new Map()); // path -> promise of its listing

  function load(path) {
    const cur = dirs.value[path];
    if (cur && cur.state === 'loaded') return Promise.resolve();
    if (pending.current.has(path)) return pending.current.get(path);
    dirs.value = { ...dirs.value, [path]: { state: 'loading' } };
    const signal = ctl.current.signal;
    const p = (async () => {
      try {
        const children = await source.list(path, signal);
        children.sort((a, b) => (a.is_dir === b.is_dir ? (a.path < b.path ? -1 : 1) : a.is_dir ? -1 : 1));
        if (!signal.aborted) dirs.value = { ...dirs.value, [path]: { state: 'loaded', children } };
      } catch (e) {
        if (e.name !== 'AbortError' && !signal.aborted) {
          dirs.value = { ...dirs.value, [path]: { state: 'error', error: e.message } };
        }
      } finally {
        pending.current.delete(path);
      }
    })();
    pending.current.set(path, p);
    return p;
  }

  useEffect(() => {
    ctl.current = new AbortController();
    pending.current = new Map();
    dirs.value = {};
    expanded.value = new Set();
    selected.value = null;
    focused.value = '';
    load('');
    return () => ctl.current.abort();
  }, [source.key]);

  // Opens a file named by the page (?artifact=a/b.txt): every folder on the
  // way is listed and opened in turn.
  useEffect(() => {
    if (!initialPath) return undefined;
    let stop = false;
    (async () => {
      const parts = initialPath.split('/');
      let parent = '';
      await load('');
      for (let i = 0; i < parts.length - 1 && !stop; i++) {
        const dir = parent ? `${parent}/${parts[i]}` : parts[i];
        const next = new Set(expanded.value);
        next.add(dir);
        expanded.value = next;
        await load(dir);
        parent = dir;
      }
      const file = dirs.value[parent]?.children?.find((c) => c.path === initialPath && !c.is_dir);
      if (file && !stop) {
        selected.value = { path: file.path, size: file.size };
        focused.value = file.path;
      }
    })();
    return () => {
      stop = true;
    };
  }, [source.key, initialPath]);

  const rows = visibleRows(dirs.value, expanded.value);
  const root = dirs.value[''];
  const focusPath = rows.some((r) => r.path === focused.value) ? focused.value : rows[0]?.path;

  function toggle(row, open) {
    const next = new Set(expanded.value);
    const willOpen = open === undefined ? !next.has(row.path) : open;
    if (willOpen) {
      next.add(row.path);
      load(row.path);
    } else next.delete(row.path);
    expanded.value = next;
  }

  function activate(row) {
    focused.value = row.path;
    if (row.is_dir) toggle(row);
    else {
      selected.value = { path: row.path, size: row.size };
      onSelect?.(row.path);
    }
  }

  function moveFocus(path) {
    focused.value = path;
    requestAnimationFrame(() => {
      const el = treeRef.current?.querySelector(`[data-path="${CSS.escape(path)}"]`);
      el?.focus();
    });
  }

  function onKeyDown(e) {
    const i = rows.findIndex((r) => r.path === focusPath);
    if (i < 0) return;
    const row = rows[i];
    let handled = true;
    switch (e.key) {
      case 'ArrowDown':
        if (i + 1 < rows.length) moveFocus(rows[i + 1].path);
        break;
      case 'ArrowUp':
        if (i > 0) moveFocus(rows[i - 1].path);
        break;
      case 'Home':
        moveFocus(rows[0].path);
        break;
      case 'End':
        moveFocus(rows[rows.length - 1].path);
        break;
      case 'ArrowRight':
        if (row.is_dir) {
          if (!expanded.value.has(row.path)) toggle(row, true);
          else if (rows[i + 1] && rows[i + 1].parent === row.path) moveFocus(rows[i + 1].path);
        }
        break;
      case 'ArrowLeft':
        if (row.is_dir && expanded.value.has(row.path)) toggle(row, false);
        else if (row.parent) moveFocus(row.parent);
        break;
      case 'Enter':
      case ' ':
        activate(row);
        break;
      default:
        handled = false;
    }
    if (handled) e.preventDefault();
  }

  return (
    <div class="artifact-browser" data-testid={`artifacts-${source.key.split(':')[0]}`}>
      <div class="artifact-tree-pane">
        {!root || root.state === 'loading' ? (
          <p aria-live="polite">Loading artifacts…</p>
        ) : root.state === 'error' ? (
          <p role="alert" class="error">
            Artifacts could not be listed: {root.error}
          </p>
        ) : root.children.length === 0 ? (
          <p class="muted" data-testid="no-artifacts">
            No artifacts.
          </p>
        ) : (
          <ul role="tree" aria-label={label} class="artifact-tree" ref={treeRef} onKeyDown={onKeyDown}>
            {rows.map((r) => {
              const d = r.is_dir ? dirs.value[r.path] : null;
              const open = r.is_dir && expanded.value.has(r.path);
              const isSel = !r.is_dir && selected.value?.path === r.path;
              return (
                <li
                  key={r.path}
                  role="treeitem"
                  data-path={r.path}
                  data-testid="artifact-item"
                  aria-level={r.level}
                  aria-posinset={r.posinset}
                  aria-setsize={r.setsize}
                  aria-expanded={r.is_dir ? String(open) : undefined}
                  aria-selected={r.is_dir ? undefined : String(isSel)}
                  aria-busy={d?.state === 'loading' ? 'true' : undefined}
                  tabindex={r.path === focusPath ? 0 : -1}
                  class={`${isSel ? 'selected' : ''} ${r.is_dir ? 'dir' : 'file'}`}
                  style={{ paddingLeft: `${(r.level - 1) * 1.1 + 0.3}rem` }}
                  onClick={() => activate(r)}
                  onFocus={() => (focused.value = r.path)}
                >
                  <span class="twisty" aria-hidden="true">
                    {r.is_dir ? (open ? '▾' : '▸') : ''}
                  </span>
                  <span class="name">{baseName(r.path)}</span>
                  {r.is_dir ? (
                    open && d?.state === 'loading' ? (
                      <span class="muted"> loading…</span>
                    ) : open && d?.state === 'loaded' && d.children.length === 0 ? (
                      <span class="muted"> (empty)</span>
                    ) : open && d?.state === 'error' ? (
                      <span class="error"> could not be listed: {d.error}</span>
                    ) : null
                  ) : (
                    <span class="size muted">{formatBytes(r.size)}</span>
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </div>
      <div class="artifact-preview-pane">
        {selected.value ? (
          <ArtifactPreview key={`${source.key}|${selected.value.path}`} source={source} file={selected.value} />
        ) : (
          root?.state === 'loaded' &&
          root.children.length > 0 && <p class="muted">Select a file to preview it and to download it.</p>
        )}
      </div>
    </div>
  );
}
