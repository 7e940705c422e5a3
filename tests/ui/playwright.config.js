// Browser tests of kiln's web UI: Debian's chromium (Playwright cannot
// download browsers here) against the real kiln binary, seeded by
// global-setup.js through the mlflow client. Run: scripts/run_ui_tests.sh.
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.js',
  globalSetup: './global-setup.js',
  workers: 1,
  fullyParallel: false,
  timeout: 60_000,
  retries: 0,
  reporter: [['list'], ['json', { outputFile: 'test-results/results.json' }]],
  snapshotPathTemplate: '{testDir}/baselines/{arg}{ext}',
  expect: {
    // Fonts and anti-aliasing differ slightly between machines; a layout
    // change moves far more than 2% of the pixels.
    toHaveScreenshot: { maxDiffPixelRatio: 0.02, threshold: 0.25, animations: 'disabled', caret: 'hide' },
  },
  use: {
    browserName: 'chromium',
    viewport: { width: 1280, height: 800 },
    deviceScaleFactor: 1,
    colorScheme: 'light',
    locale: 'en-US',
    timezoneId: 'UTC',
    launchOptions: {
      executablePath: process.env.KILN_CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox', '--font-render-hinting=none', '--disable-lcd-text'],
    },
  },
});
