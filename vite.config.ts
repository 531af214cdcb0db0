import { sveltekit } from '@sveltejs/kit/vite';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config'; // not 'vite': svelte-check rejects the `test` key otherwise

const ATTACH = '/src/lib/server/realtime/attach.ts';

/**
 * In `vite dev`, socket.io runs on Vite's own HTTP server through the same `attach` the
 * production entry uses, loaded through Vite's SSR pipeline so it shares module instances
 * (ClickHouse client, config) with the routes.
 */
const socketIODev: Plugin = {
  name: 'pipewall-socket.io-dev',
  apply: 'serve',
  async configureServer(server) {
    // Vite serves plain HTTP/1.1 here (no https option), so this is a node:http Server.
    const http = server.httpServer as import('node:http').Server | null;
    if (!http) return; // middleware mode (vitest): nothing to attach to
    const load = async () => {
      const mod = (await server.ssrLoadModule(ATTACH)) as typeof import('./src/lib/server/realtime/attach');
      mod.attach(http);
    };
    await load();
  }
};

export default defineConfig({
  plugins: [sveltekit(), socketIODev],
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node'
        }
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/helpers/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000
        }
      }
    ]
  }
});
