// First step of `npm start`, `npm test` and `npm run bench`: plain JavaScript with no imports
// beyond Node itself, because it runs before node_modules exists on a fresh machine.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19) || major === 21 || (major === 22 && minor < 12)) {
  console.error(`Pipewall needs Node >= 20.19 (or >= 22.12); this is ${process.versions.node}.`);
  process.exit(1);
}

// npm writes node_modules/.package-lock.json on every install: older than the lockfile means
// the lockfile changed since (a pull, a clean clone) and node_modules may not match it.
const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs;
if (stale) {
  console.log('pipewall: installing npm packages from the lockfile (npm ci)...');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('pipewall: npm ci failed; run `npm ci` to see the full error.');
    process.exit(1);
  }
}
