import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The cockpit's build (`npm run build:cockpit`): static files in dist/cockpit, which the monitor
 * serves. JSX through Vite's own transform (no plugin): React's automatic runtime.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  build: {
    outDir: fileURLToPath(new URL('../../dist/cockpit', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
});
