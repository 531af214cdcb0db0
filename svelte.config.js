import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    adapter: adapter({ out: 'build' }),
    // Cross-site form posts are refused by SvelteKit's origin check; keep it on.
    csrf: { trustedOrigins: [] }
  },
  vitePlugin: {
    // Runes for our own components only; library components keep their own mode.
    dynamicCompileOptions: ({ filename }) =>
      filename.split(/[/\\]/).includes('node_modules') ? undefined : { runes: true }
  }
};

export default config;
