import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const SOURCES = ['src', 'ingest', 'ml', 'static', 'svelte.config.js', 'vite.config.ts', 'package-lock.json'];
const OUTPUT = 'build/handler.js';

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Build the SvelteKit app when there is no build or a source is newer than it. */
export function ensureBuild(say: (line: string) => void): void {
  const built = existsSync(OUTPUT) ? statSync(OUTPUT).mtimeMs : 0;
  if (built > 0 && Math.max(...SOURCES.map(newestMtime)) <= built) return;
  say(built ? 'sources changed since the last build; building the app...' : 'building the app (vite build)...');
  const r = spawnSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('vite build failed (see above)');
}
