// Preview of one artifact file: images, text and logs, JSON (pretty
// printed), CSV/TSV (a table of the first rows) and MLflow's MLmodel file
// (YAML with its flavors picked out). Never fetches more than a limit: text
// kinds are read with an HTTP Range request for their first TEXT_LIMIT bytes
// (and the reader stops there even if a server ignored Range); images over
// IMAGE_LIMIT are not fetched at all. Every file gets a plain download link.
import { useEffect } from 'preact/hooks';
import { useSignal } from '@preact/signals';
import { getAuthHeader } from '../api.js';
import './ArtifactPreview.css';

export const TEXT_LIMIT = 1 << 20; // 1 MiB
export const IMAGE_LIMIT = 5 << 20; // 5 MiB
export const CSV_ROWS = 200;

const IMAGE_TYPES = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  webp: 'image/webp',
  bmp: 'image/bmp',
};
const TEXT_EXT = new Set([
  'txt', 'log', 'err', 'out', 'md', 'rst', 'py', 'r', 'sh', 'sql', 'js', 'ts', 'yaml', 'yml', 'toml', 'ini',
  'cfg', 'conf', 'properties', 'xml', 'html', 'htm', 'jsonl', 'ndjson', 'ipynb', 'diff', 'patch', 'tex',
]);
const TEXT_NAMES = new Set(['MLproject', 'LICENSE', 'README', 'Dockerfile', 'Makefile', 'requirements']);

export function baseName(path) {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

// 'image' | 'json' | 'csv' | 'tsv' | 'mlmodel' | 'text' | null
export function previewKind(path) {
  const name = baseName(path);
  if (name === 'MLmodel') return 'mlmodel';
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  if (IMAGE_TYPES[ext]) return 'image';
  if (ext === 'json') return 'json';
  if (ext === 'csv') return 'csv';
  if (ext === 'tsv') return 'tsv';
  if (TEXT_EXT.has(ext) || TEXT_NAMES.has(name)) return 'text';
  return null;
}

export function formatBytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return 'unknown size';
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / (1 << 30)).toFixed(2)} GiB`;
}

const grouped = (n) => Number(n).toLocaleString('en-US');

// Reads at most `limit` bytes from the start of the file. Asks for them with
// Range; a 200 (a server that ignores Range) is still cut off at `limit`.
// Returns { bytes, total (null if unknown), truncated, ranged }.
export async function readHead(source, path, limit, signal) {
  const res = await source.fetch(path, { headers: { Range: `bytes=0-${limit - 1}` }, signal });
  let total = null;
  const ranged = res.status === 206;
  if (ranged) {
    const m = /\/(\d+)\s*$/.exec(res.headers.get('Content-Range') || '');
    if (m) total = Number(m[1]);
  } else {
    const len = res.headers.get('Content-Length');
    if (len !== null && len !== '') total = Number(len);
  }
  // A 206 is bounded by the server: read it to its end (a cancelled stream
  // would count as a failed request). A 200 is cut off at `limit`.
  const reader = res.body.getReader();
  const chunks = [];
  let got = 0;
  let ended = false;
  while (ranged ? got <= limit : got < limit) {
    const { done, value } = await reader.read();
    if (done) {
      ended = true;
      break;
    }
    chunks.push(value);
    got += value.length;
  }
  if (!ended) reader.cancel().catch(() => {});
  const bytes = new Uint8Array(Math.min(got, limit));
  let at = 0;
  for (const c of chunks) {
    const take = Math.min(c.length, bytes.length - at);
    bytes.set(take === c.length ? c : c.subarray(0, take), at);
    at += take;
    if (at >= bytes.length) break;
  }
  // Unknown total ("bytes 0-N/*" or no length): a full window may hide more.
  const truncated = total !== null ? total > bytes.length : !ended || got >= limit;
  return { bytes, total, truncated, ranged };
}

// UTF-8 without a broken character at a cut: stream mode keeps an incomplete
// trailing sequence back instead of emitting U+FFFD.
function decode(bytes, truncated) {
  const d = new TextDecoder('utf-8');
  return truncated ? d.decode(bytes, { stream: true }) : d.decode(bytes);
}

// RFC 4180 fields (quotes, doubled quotes, separators and newlines inside
// quotes); stops after `maxRows` rows. `complete` is false when the text was
// cut, so a last partial row is dropped rather than shown wrong.
export function parseDelimited(text, sep, maxRows, complete) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const n = text.length;
  let more = false;
  while (i < n) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i += 1;
        continue;
      }
      field += c;
      i += 1;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      i += 1;
    } else if (c === sep) {
      row.push(field);
      field = '';
      i += 1;
    } else if (c === '\n' || c === '\r') {
      row.push(field);
      field = '';
      rows.push(row);
      row = [];
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      if (rows.length >= maxRows) {
        more = i < n;
        break;
      }
    } else {
      field += c;
      i += 1;
    }
  }
  if (rows.length < maxRows && i >= n && (field !== '' || row.length)) {
    if (complete) {
      row.push(field);
      rows.push(row);
    } else {
      more = true; // a partial last row, cut by the byte limit
    }
  }
  return { rows, more };
}

// The flavors of an MLmodel file: top-level `flavors:` mapping, each flavor
// with its scalar settings (loader_module, sklearn_version, ...). A small
// reader of the layout MLflow writes, not a general YAML parser.
export function mlmodelFlavors(text) {
  const lines = text.split(/\r?\n/);
  const flavors = [];
  let inFlavors = false;
  let current = null;
  const lineOf = new Map(); // line index -> flavor name (for highlighting)
  lines.forEach((line, idx) => {
    if (/^\S/.test(line)) {
      inFlavors = /^flavors:\s*$/.test(line);
      current = null;
      return;
    }
    if (!inFlavors) return;
    let m = /^ {2}([^\s:][^:]*):\s*(.*)$/.exec(line);
    if (m) {
      current = { name: m[1], settings: [] };
      flavors.push(current);
      lineOf.set(idx, m[1]);
      return;
    }
    m = /^ {4}([^\s:][^:]*):\s*(\S.*)$/.exec(line);
    if (m && current) current.settings.push([m[1], m[2]]);
  });
  return { flavors, lineOf, lines };
}

function downloadName(path) {
  return baseName(path) || 'artifact';
}

// A plain link. When the UI carries a signed-in user's credentials (which a
// plain link cannot send), the click fetches with them and saves the blob.
export function DownloadLink({ source, path, size }) {
  const busy = useSignal('');
  async function onClick(e) {
    if (!getAuthHeader()) return;
    e.preventDefault();
    busy.value = 'Downloading…';
    try {
      const res = await source.fetch(path, {});
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = downloadName(path);
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      busy.value = '';
    } catch (err) {
      busy.value = `Download failed: ${err.message}`;
    }
  }
  return (
    <span class="download">
      <a href={source.url(path)} download={downloadName(path)} onClick={onClick} data-testid="artifact-download">
        Download {downloadName(path)}
      </a>{' '}
      <span class="muted">({formatBytes(size)})</span>
      {busy.value && <span class="muted"> {busy.value}</span>}
    </span>
  );
}

function TruncationNote({ shown, total, what }) {
  if (total === null) {
    return (
      <p class="note" data-testid="truncated">
        Showing the first {formatBytes(shown)} ({grouped(shown)} bytes){what ? ` ${what}` : ''}; the file is longer.
      </p>
    );
  }
  return (
    <p class="note" data-testid="truncated">
      Showing the first {formatBytes(shown)} of {formatBytes(total)} ({grouped(shown)} of {grouped(total)} bytes)
      {what ? ` ${what}` : ''}.
    </p>
  );
}

function ImagePreview({ source, path, size }) {
  const url = useSignal('');
  const error = useSignal('');
  const over = useSignal(''); // the listing had no size, and the image proved too large
  const tooBig = size !== null && size !== undefined && size > IMAGE_LIMIT;
  useEffect(() => {
    if (tooBig) return undefined;
    const ctl = new AbortController();
    let made = '';
    (async () => {
      try {
        // Bounded even when the listing gave no size: one byte past the
        // limit tells an image over it.
        const head = await readHead(source, path, IMAGE_LIMIT + 1, ctl.signal);
        if (head.truncated || head.bytes.length > IMAGE_LIMIT) {
          over.value = head.total !== null ? `${formatBytes(head.total)}, over` : 'over';
          return;
        }
        const data = head.bytes;
        const ext = baseName(path).split('.').pop().toLowerCase();
        // An <img> from a blob: an SVG's scripts never run, and the
        // attachment disposition of the download does not matter.
        made = URL.createObjectURL(new Blob([data], { type: IMAGE_TYPES[ext] || 'application/octet-stream' }));
        url.value = made;
      } catch (e) {
        if (e.name !== 'AbortError') error.value = e.message;
      }
    })();
    return () => {
      ctl.abort();
      if (made) URL.revokeObjectURL(made);
      url.value = '';
    };
  }, [source.key, path]);
  if (tooBig) {
    return (
      <p class="note" data-testid="not-previewed">
        This image is {formatBytes(size)}, over the {formatBytes(IMAGE_LIMIT)} preview limit, so it is not loaded.
        Download it to view it.
      </p>
    );
  }
  if (over.value) {
    return (
      <p class="note" data-testid="not-previewed">
        This image is {over.value} the {formatBytes(IMAGE_LIMIT)} preview limit. Download it to view it.
      </p>
    );
  }
  if (error.value) return <p role="alert" class="error">{error.value}</p>;
  if (!url.value) return <p aria-live="polite">Loading…</p>;
  return (
    <div class="image-frame">
      <img src={url.value} alt={`Artifact image ${path}`} data-testid="image-preview" />
    </div>
  );
}

function useHead(source, path, limit) {
  const state = useSignal(null); // {text, total, truncated, shown} | {error}
  useEffect(() => {
    const ctl = new AbortController();
    state.value = null;
    (async () => {
      try {
        const head = await readHead(source, path, limit, ctl.signal);
        state.value = {
          text: decode(head.bytes, head.truncated),
          total: head.total,
          truncated: head.truncated,
          shown: head.bytes.length,
        };
      } catch (e) {
        if (e.name !== 'AbortError') state.value = { error: e.message };
      }
    })();
    return () => ctl.abort();
  }, [source.key, path, limit]);
  return state.value;
}

function ScrollBox({ label, children, testid }) {
  return (
    <div class="scroll-box" tabindex={0} role="region" aria-label={label} data-testid={testid}>
      {children}
    </div>
  );
}

function TextPreview({ source, path }) {
  const head = useHead(source, path, TEXT_LIMIT);
  if (!head) return <p aria-live="polite">Loading…</p>;
  if (head.error) return <p role="alert" class="error">{head.error}</p>;
  return (
    <>
      {head.truncated && <TruncationNote shown={head.shown} total={head.total} />}
      {head.shown === 0 && <p class="note">The file is empty.</p>}
      <ScrollBox label={`Contents of ${path}`} testid="text-preview">
        <pre>{head.text}</pre>
      </ScrollBox>
    </>
  );
}

function JsonPreview({ source, path }) {
  const head = useHead(source, path, TEXT_LIMIT);
  if (!head) return <p aria-live="polite">Loading…</p>;
  if (head.error) return <p role="alert" class="error">{head.error}</p>;
  let pretty = null;
  let problem = '';
  if (!head.truncated) {
    try {
      pretty = JSON.stringify(JSON.parse(head.text), null, 2);
    } catch (e) {
      problem = `Not valid JSON (${e.message}); shown as text.`;
    }
  }
  return (
    <>
      {head.truncated && <TruncationNote shown={head.shown} total={head.total} what="as text (too large to format)" />}
      {problem && <p class="note">{problem}</p>}
      <ScrollBox label={`Contents of ${path}`} testid="json-preview">
        <pre>{pretty ?? head.text}</pre>
      </ScrollBox>
    </>
  );
}

function TablePreview({ source, path, sep }) {
  const head = useHead(source, path, TEXT_LIMIT);
  if (!head) return <p aria-live="polite">Loading…</p>;
  if (head.error) return <p role="alert" class="error">{head.error}</p>;
  const { rows, more } = parseDelimited(head.text, sep, CSV_ROWS + 1, !head.truncated);
  if (!rows.length) return <p class="note">The file is empty.</p>;
  const [header, ...body] = rows;
  const width = Math.max(...rows.map((r) => r.length));
  const cols = Array.from({ length: width }, (_, i) => header[i] ?? '');
  return (
    <>
      <p class="note" data-testid="table-note">
        {body.length} row{body.length === 1 ? '' : 's'} shown
        {more || head.truncated ? ` (the first ${body.length}; the file has more)` : ''}, {width} column
        {width === 1 ? '' : 's'}.
      </p>
      {head.truncated && <TruncationNote shown={head.shown} total={head.total} />}
      <ScrollBox label={`Table ${path}`} testid="table-preview">
        <table class="artifact-table">
          <thead>
            <tr>
              {cols.map((c, i) => (
                <th key={i} scope="col">
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {body.map((r, ri) => (
              <tr key={ri}>
                {cols.map((_, ci) => (
                  <td key={ci}>{r[ci] ?? ''}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollBox>
    </>
  );
}

function MlmodelPreview({ source, path }) {
  const head = useHead(source, path, TEXT_LIMIT);
  if (!head) return <p aria-live="polite">Loading…</p>;
  if (head.error) return <p role="alert" class="error">{head.error}</p>;
  const { flavors, lineOf, lines } = mlmodelFlavors(head.text);
  return (
    <>
      {head.truncated && <TruncationNote shown={head.shown} total={head.total} />}
      <section class="flavors" aria-label="Model flavors" data-testid="mlmodel-flavors">
        <h4>Flavors</h4>
        {flavors.length === 0 && <p class="note">The file lists no flavors.</p>}
        <ul>
          {flavors.map((f) => (
            <li key={f.name}>
              <span class="flavor">{f.name}</span>
              {f.settings.length > 0 && (
                <span class="muted">
                  {' '}
                  {f.settings
                    .filter(([k]) => /version|loader_module|pickled_model|serialization_format|env/.test(k))
                    .map(([k, v]) => `${k}: ${v}`)
                    .join(' · ')}
                </span>
              )}
            </li>
          ))}
        </ul>
      </section>
      <ScrollBox label={`Contents of ${path}`} testid="mlmodel-preview">
        <pre>
          {lines.map((line, i) => (
            <span key={i} class={lineOf.has(i) ? 'flavor-line' : undefined}>
              {line}
              {'\n'}
            </span>
          ))}
        </pre>
      </ScrollBox>
    </>
  );
}

// `file`: {path, size}. `source`: see ArtifactBrowser's sources.
export function ArtifactPreview({ source, file }) {
  const kind = previewKind(file.path);
  return (
    <section class="artifact-preview" aria-label={`Preview of ${file.path}`} data-testid="artifact-preview">
      <header class="preview-head">
        <h3 data-testid="preview-path">{file.path}</h3>
        <DownloadLink source={source} path={file.path} size={file.size} />
      </header>
      {kind === 'image' && <ImagePreview source={source} path={file.path} size={file.size} />}
      {kind === 'text' && <TextPreview source={source} path={file.path} />}
      {kind === 'json' && <JsonPreview source={source} path={file.path} />}
      {kind === 'csv' && <TablePreview source={source} path={file.path} sep="," />}
      {kind === 'tsv' && <TablePreview source={source} path={file.path} sep={'\t'} />}
      {kind === 'mlmodel' && <MlmodelPreview source={source} path={file.path} />}
      {kind === null && (
        <p class="note" data-testid="no-preview">
          No preview for this kind of file; use the download link.
        </p>
      )}
    </section>
  );
}
