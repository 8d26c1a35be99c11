/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The API base URL comes from VITE_API_BASE_URL at build time, else the
// original page's REACT_APP_API_BASE_URL, so an existing deployment's
// settings keep working; neither set: the page's own origin.  config.js,
// written when the web container starts, wins over both (src/api.ts).
// Only the variables the code names reach the bundle.
export default defineConfig({
  plugins: [react()],
  envPrefix: ['VITE_', 'REACT_APP_'],
  base: './',
  build: {
    outDir: 'dist',
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    port: 18445,
    strictPort: true,
    // "npm run dev" without VITE_API_BASE_URL: the API of "make run",
    // proxied so that the page and the API share an origin as they do there.
    proxy: Object.fromEntries(
      ['/api', '/metrics'].map((p) => [p, process.env.API_PROXY_TARGET || 'http://127.0.0.1:8080']),
    ),
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    // The machine may be busy with other suites: be patient rather than flaky.
    testTimeout: 90_000,
  },
});
