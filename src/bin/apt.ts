import { spawnSync } from 'node:child_process';

/**
 * Install Debian packages the project needs (ClickHouse, Chromium) when they are missing: as
 * root with apt-get, saying so; otherwise stop with the exact command to run.
 */
export function ensureAptPackages(
  what: string,
  isInstalled: () => boolean,
  packages: readonly string[],
  say: (line: string) => void
): void {
  if (isInstalled()) return;
  const command = `apt-get update && apt-get install -y ${packages.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new Error(`${what} is not installed. Run: sudo sh -c '${command}'`);
  }
  say(`${what} is missing; installing Debian packages as root: ${command}`);
  const r = spawnSync('sh', ['-c', command], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  });
  if (r.status !== 0 || !isInstalled()) {
    const why = r.stderr?.toString().trim().split('\n').pop() ?? `exit ${r.status}`;
    throw new Error(`apt-get could not install ${packages.join(' ')}: ${why}`);
  }
}
