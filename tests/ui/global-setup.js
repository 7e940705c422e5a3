// Starts the real kiln binary shared by the runs specs (tests/ui/kiln.js),
// seeds it through tests/ui/seed.py (the mlflow client from .venv) and hands
// the address and experiment ids to the tests through the environment.
// Specs that need a differently configured server start their own
// (serverFor in kiln.js).
import { startKiln, runSeed } from './kiln.js';

export default async function globalSetup() {
  // UI development: test an already seeded server (KILN_UI_SMALL/BIG/BIG_RUNS set too).
  if (process.env.KILN_UI_URL) {
    process.env.KILN_UI_BASE = process.env.KILN_UI_URL;
    return async () => {};
  }
  const runs = process.env.KILN_UI_RUNS || '100000';
  const kiln = await startKiln();
  const started = Date.now();
  const seeded = await runSeed('seed.py', [kiln.url, runs]);
  console.log(
    `seeded ${seeded.big_runs} runs in ${seeded.big_seconds} s (small experiment ${seeded.small_seconds} s, ` +
      `total ${((Date.now() - started) / 1000).toFixed(1)} s with the client's start-up)`,
  );
  process.env.KILN_UI_BASE = kiln.url;
  process.env.KILN_UI_SMALL = seeded.small;
  process.env.KILN_UI_BIG = seeded.big;
  process.env.KILN_UI_BIG_RUNS = String(seeded.big_runs);
  return async () => {
    await kiln.stop();
  };
}
