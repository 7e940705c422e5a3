import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

// Served by kiln under /ui/ (src/api/webui); hashed names let kiln cache
// assets for a year while index.html is revalidated.
export default defineConfig({
  base: '/ui/',
  plugins: [preact()],
  build: {
    outDir: process.env.KILN_UI_OUT || '../third_party/ui-dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    target: 'es2020',
  },
});
