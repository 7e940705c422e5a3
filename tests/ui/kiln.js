// Starting the real kiln binary for the browser tests: a free port (port 0,
// the address read from kiln's "listening on" line), a temporary data
// directory, and KILN_UI_DIR (when set) served with --ui-dir so a UI built
// elsewhere can be tested without re-embedding it.
//
// Specs that need a server of their own (auth on, a feature store, served
// models) call serverFor(test, {...}) at the top of the file: it starts kiln
// in beforeAll, runs an optional seed script through .venv's Python, and stops
// and removes everything in afterAll.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
export const python = path.resolve(repo, process.env.KILN_PYTHON || '.venv/bin/python');
export const binary = path.resolve(repo, process.env.KILN_BINARY || 'build/release/kiln');

export function startKiln({ args = [], env = {}, dataDir } = {}) {
  const dir = dataDir || mkdtempSync(path.join(tmpdir(), 'kiln-ui-'));
  const all = ['serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dir];
  if (process.env.KILN_UI_DIR) all.push('--ui-dir', path.resolve(repo, process.env.KILN_UI_DIR));
  all.push(...args);
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, all, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let log = '';
    const timer = setTimeout(() => reject(new Error(`kiln did not start within 30 s:\n${log}`)), 30_000);
    const onData = (chunk) => {
      log += chunk.toString();
      if (log.length > 1 << 20) log = log.slice(-(1 << 19));
      const m = log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m && timer) {
        clearTimeout(timer);
        const grpc = log.match(/gRPC.*?127\.0\.0\.1:(\d+)/);
        resolve({
          proc,
          dataDir: dir,
          url: `http://127.0.0.1:${m[1]}`,
          grpcPort: grpc ? Number(grpc[1]) : null,
          log: () => log,
          stop: () => stopKiln(proc, dataDir ? null : dir),
        });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kiln exited with ${code} before listening:\n${log}`));
    });
  });
}

export function stopKiln(proc, removeDir) {
  return new Promise((r) => {
    const done = () => {
      if (removeDir) rmSync(removeDir, { recursive: true, force: true });
      r();
    };
    if (proc.exitCode !== null) return done();
    proc.removeAllListeners('exit');
    const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    proc.once('exit', () => {
      clearTimeout(t);
      done();
    });
    proc.kill('SIGTERM');
  });
}

// Runs `python script args...` and returns the JSON object printed on its last
// stdout line (the seed scripts' contract).
export function runSeed(script, args = [], { timeout = 400_000, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    execFile(
      python,
      [path.resolve(here, script), ...args.map(String)],
      { maxBuffer: 64 << 20, timeout, env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${script} failed: ${err.message}\n${stderr}`));
        const lines = stdout.trim().split('\n');
        try {
          resolve(JSON.parse(lines[lines.length - 1]));
        } catch (e) {
          reject(new Error(`${script} printed no JSON: ${stdout.slice(-500)}\n${stderr}`));
        }
      },
    );
  });
}

// A kiln of the spec file's own. Returns an object whose fields (url,
// grpcPort, seeded, dataDir) are filled in beforeAll.
export function serverFor(test, { args = [], env = {}, seed, seedArgs = [], seedTimeout } = {}) {
  const server = { url: '', grpcPort: null, seeded: null, dataDir: '' };
  let handle = null;
  test.beforeAll(async () => {
    test.setTimeout(Math.max(120_000, (seedTimeout || 0) + 60_000));
    handle = await startKiln({ args, env });
    server.url = handle.url;
    server.grpcPort = handle.grpcPort;
    server.dataDir = handle.dataDir;
    if (seed) {
      server.seeded = await runSeed(seed, [handle.url, ...seedArgs], {
        timeout: seedTimeout || 400_000,
        env: { ...env, KILN_GRPC_PORT: String(handle.grpcPort ?? '') , KILN_DATA_DIR: handle.dataDir },
      });
    }
  });
  test.afterAll(async () => {
    if (handle) await handle.stop();
  });
  return server;
}

// axe-core over the whole document; returns "id: help (nodes)" per violation.
export async function axe(page) {
  await page.addScriptTag({ path: path.join(here, 'node_modules/axe-core/axe.min.js') });
  return page.evaluate(async () =>
    (await window.axe.run(document)).violations.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`),
  );
}
