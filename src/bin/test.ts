/**
 * `npm test`: every test, on a fresh machine too. Installs what is missing (Debian's
 * clickhouse-server and chromium, as root), starts one private ClickHouse for the whole run
 * (each test file then makes its own database), and runs in order: lint, type check, unit and
 * integration tests (vitest), the production build, and the browser tests (Playwright).
 * Every step runs even if an earlier one failed, except the browser tests, which need the build.
 *
 * Flags: --only <step> (lint, check, vitest, build, e2e), repeatable.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLICKHOUSE_PACKAGES, findServerBinary, startLocalClickHouse, type LocalClickHouse } from '../lib/server/db/local-server';
import { ensureAptPackages } from './apt';
import { REDIS_BINARY, REDIS_PACKAGES } from './local-redis';

const say = (line: string) => console.log(`\npipewall test: ${line}`);
const { values } = parseArgs({ options: { only: { type: 'string', multiple: true } } });

const steps: { name: string; command: string[]; needs?: string }[] = [
  { name: 'lint', command: ['node_modules/eslint/bin/eslint.js', '.'] },
  { name: 'check', command: ['node_modules/svelte-check/bin/svelte-check', '--tsconfig', './tsconfig.json', '--fail-on-warnings'] },
  { name: 'vitest', command: ['node_modules/vitest/vitest.mjs', 'run'] },
  { name: 'build', command: ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'] },
  { name: 'e2e', command: ['node_modules/@playwright/test/cli.js', 'test'], needs: 'build' }
];

function run(command: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((done) => {
    const child = spawn(process.execPath, command, { stdio: 'inherit', env });
    child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
}

let local: LocalClickHouse | undefined;
let dir: string | undefined;
async function cleanup(): Promise<void> {
  await local?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));

async function main(): Promise<number> {
  const selected = values.only?.length ? steps.filter((s) => values.only?.includes(s.name)) : steps;
  ensureAptPackages('clickhouse-server', () => findServerBinary() !== undefined, CLICKHOUSE_PACKAGES, say);
  // Issue 8's tests start their own Redis, as they start their own ClickHouse.
  ensureAptPackages('redis-server', () => existsSync(REDIS_BINARY), REDIS_PACKAGES, say);
  if (selected.some((s) => s.name === 'e2e')) {
    ensureAptPackages('chromium', () => existsSync('/usr/bin/chromium'), ['chromium'], say);
  }
  await run(['node_modules/@sveltejs/kit/svelte-kit.js', 'sync'], process.env);

  let url = process.env.CLICKHOUSE_URL;
  if (!url) {
    dir = mkdtempSync(join(tmpdir(), 'pipewall-test-ch-'));
    local = await startLocalClickHouse({ dataDir: dir });
    url = local.url;
    say(`private ClickHouse for this run at ${url} (log ${local.logFile})`);
  }
  const env = { ...process.env, CLICKHOUSE_URL: url };

  const results: { name: string; status: 'passed' | 'failed' | 'not run'; seconds: number }[] = [];
  for (const step of selected) {
    const prerequisite = step.needs ? results.find((r) => r.name === step.needs) : undefined;
    if (prerequisite && prerequisite.status !== 'passed') {
      results.push({ name: step.name, status: 'not run', seconds: 0 });
      continue;
    }
    say(`${step.name}...`);
    const started = Date.now();
    const code = await run(step.command, env);
    results.push({ name: step.name, status: code === 0 ? 'passed' : 'failed', seconds: (Date.now() - started) / 1000 });
  }
  await cleanup();

  console.log('\npipewall test summary');
  for (const r of results) console.log(`  ${r.name.padEnd(8)} ${r.status.padEnd(8)} ${r.seconds.toFixed(1)} s`);
  return results.every((r) => r.status === 'passed') ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error(`pipewall test: ${err instanceof Error ? err.message : String(err)}`);
    await cleanup();
    process.exit(1);
  }
);
