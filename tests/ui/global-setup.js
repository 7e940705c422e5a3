// Starts the real kiln binary on a free port with a temp data dir, seeds it
// through tests/ui/seed.py (the mlflow client from .venv) and hands the
// address and experiment ids to the tests through the environment.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');

function startKiln(binary, dataDir) {
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, ['serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const timer = setTimeout(() => reject(new Error(`kiln did not start within 30 s:\n${log}`)), 30_000);
    const onData = (chunk) => {
      log += chunk.toString();
      const m = log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: `http://127.0.0.1:${m[1]}` });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kiln exited with ${code} before listening:\n${log}`));
    });
  });
}

export default async function globalSetup() {
  // UI development: test an already seeded server (KILN_UI_SMALL/BIG/BIG_RUNS set too).
  if (process.env.KILN_UI_URL) {
    process.env.KILN_UI_BASE = process.env.KILN_UI_URL;
    return async () => {};
  }
  const binary = path.resolve(repo, process.env.KILN_BINARY || 'build/release/kiln');
  const python = path.resolve(repo, process.env.KILN_PYTHON || '.venv/bin/python');
  const runs = process.env.KILN_UI_RUNS || '100000';
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kiln-ui-'));
  const { proc, url } = await startKiln(binary, dataDir);
  proc.removeAllListeners('exit');
  const started = Date.now();
  const out = await new Promise((resolve, reject) => {
    execFile(python, [path.join(here, 'seed.py'), url, runs], { maxBuffer: 16 << 20, timeout: 400_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`seeding failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
  const lines = out.trim().split('\n');
  const seeded = JSON.parse(lines[lines.length - 1]);
  console.log(`seeded ${seeded.big_runs} runs in ${seeded.big_seconds} s (small experiment ${seeded.small_seconds} s, total ${((Date.now() - started) / 1000).toFixed(1)} s with the client's start-up)`);
  process.env.KILN_UI_BASE = url;
  process.env.KILN_UI_SMALL = seeded.small;
  process.env.KILN_UI_BIG = seeded.big;
  process.env.KILN_UI_BIG_RUNS = String(seeded.big_runs);
  return async () => {
    proc.kill('SIGTERM');
    await new Promise((r) => {
      const t = setTimeout(() => {
        proc.kill('SIGKILL');
        r();
      }, 10_000);
      proc.on('exit', () => {
        clearTimeout(t);
        r();
      });
    });
    rmSync(dataDir, { recursive: true, force: true });
  };
}
