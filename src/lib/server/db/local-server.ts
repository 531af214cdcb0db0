import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';

/**
 * A private clickhouse-server run as a child process, for `npm start` and the tests when no
 * CLICKHOUSE_URL is given: its own data directory, free loopback ports, a readiness wait and a
 * clean stop. See clickhouse-18.16.md §0 for the command line.
 */
export interface LocalClickHouse {
  url: string;
  /** Native protocol port, for clickhouse-client. */
  tcpPort: number;
  dataDir: string;
  logFile: string;
  errorLogFile: string;
  pid: number;
  stop(): Promise<void>;
}

export class LocalClickHouseError extends Error {}

const SERVER_BINARY_CANDIDATES = ['/usr/sbin/clickhouse-server', '/usr/bin/clickhouse-server'];
const CONFIG_FILE = '/etc/clickhouse-server/config.xml';
/** Debian packages that provide the server (src/bin/apt.ts installs them). */
export const CLICKHOUSE_PACKAGES = ['clickhouse-server', 'clickhouse-client'];

/** The server binary, if the package (binary and its config) is installed. */
export function findServerBinary(): string | undefined {
  if (!existsSync(CONFIG_FILE)) return undefined;
  return SERVER_BINARY_CANDIDATES.find((p) => existsSync(p));
}

/** A port the kernel says is free on 127.0.0.1 now. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => ok(port));
    });
  });
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A previous run killed with SIGKILL leaves its server holding the data directory. It is ours
 * (the pid file sits in our directory and its command line names it), so stop it.
 */
function stopOrphan(dataDir: string): void {
  const pidFile = join(dataDir, 'server.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      // The process ended between the two checks; nothing to stop.
    }
    if (cmdline.includes('clickhouse') && cmdline.includes(dataDir)) {
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 200 && isAlive(pid); i++) spawnSync('sleep', ['0.05']);
    }
  }
  rmSync(pidFile, { force: true });
}

function tail(file: string, lines = 5): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** The most telling line of the error log: the last "<Error>" line, without its prefix. */
function reasonFromLog(file: string): string {
  const errorLines = tail(file, 40)
    .split('\n')
    .filter((l) => /<(Error|Fatal)>|Exception|Cannot|No space/i.test(l));
  const last = errorLines.pop() ?? '';
  return last.replace(/^.*?<(Error|Fatal)>\s*/, '').slice(0, 300);
}

export interface StartOptions {
  /** Directory for data and logs; created if missing, reused across starts. */
  dataDir: string;
  readyTimeoutMs?: number;
  /**
   * Fixed ports instead of fresh free ones, so a server stopped and started again on the same
   * dataDir is reachable at the same URL (the ClickHouse outage test restarts it under a client).
   */
  httpPort?: number;
  tcpPort?: number;
  interserverPort?: number;
  /**
   * Clusters for Distributed tables (`remote_servers`): name → shards → replicas. Used by the
   * cluster layout test, which runs several servers that name each other (hence fixed ports).
   */
  remoteServers?: Record<string, RemoteReplica[][]>;
  /** `macros`, e.g. { shard: '01', replica: 'a' }, for the `{shard}`/`{replica}` of Replicated tables. */
  macros?: Record<string, string>;
}

export interface RemoteReplica {
  host: string;
  /** Native protocol (TCP) port. */
  port: number;
}

const xmlText = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

function xmlName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new LocalClickHouseError(`not usable as an XML element name: ${name}`);
  return name;
}

function clusterConfigXml(options: StartOptions): string {
  const replica = (r: RemoteReplica) => `<replica><host>${xmlText(r.host)}</host><port>${r.port}</port></replica>`;
  const clusters = Object.entries(options.remoteServers ?? {}).map(
    ([name, shards]) => `<${xmlName(name)}>${shards.map((rs) => `<shard>${rs.map(replica).join('')}</shard>`).join('')}</${name}>`
  );
  const macros = Object.entries(options.macros ?? {}).map(([k, v]) => `<${xmlName(k)}>${xmlText(v)}</${k}>`);
  return `<yandex>\n  <remote_servers>${clusters.join('\n')}</remote_servers>\n  <macros>${macros.join('')}</macros>\n</yandex>\n`;
}

/**
 * Servers of a cluster keep idle connections to each other (the Distributed tables' pools), and
 * on SIGTERM 18.16 waits for every open connection's handler, which notices the stop only at its
 * next poll: `poll_interval`, 10 s by default, so each stop took 10 s. One second instead.
 */
const CLUSTER_USERS_XML = '<yandex>\n  <profiles><default><poll_interval>1</poll_interval></default></profiles>\n</yandex>\n';

/**
 * The config file to start with: the package's own, or, with clusters or macros, a copy of it and
 * of its users.xml in <dataDir>/config, with config.d and users.d files that add them (the server
 * merges those directories into the files beside them; there is no command-line form for a list
 * of shards).
 */
function configFileFor(dataDir: string, options: StartOptions): string {
  if (!options.remoteServers && !options.macros) return CONFIG_FILE;
  const dir = join(dataDir, 'config');
  mkdirSync(join(dir, 'config.d'), { recursive: true });
  mkdirSync(join(dir, 'users.d'), { recursive: true });
  copyFileSync(CONFIG_FILE, join(dir, 'config.xml'));
  copyFileSync(join(dirname(CONFIG_FILE), 'users.xml'), join(dir, 'users.xml'));
  writeFileSync(join(dir, 'config.d', 'pipewall-cluster.xml'), clusterConfigXml(options));
  writeFileSync(join(dir, 'users.d', 'pipewall-cluster.xml'), CLUSTER_USERS_XML);
  return join(dir, 'config.xml');
}

export async function startLocalClickHouse(options: StartOptions): Promise<LocalClickHouse> {
  const binary = findServerBinary();
  if (!binary) {
    throw new LocalClickHouseError(`clickhouse-server is not installed (apt-get install -y ${CLICKHOUSE_PACKAGES.join(' ')})`);
  }
  const dataDir = resolve(options.dataDir);
  for (const d of ['data', 'tmp', 'user_files', 'format_schemas']) mkdirSync(join(dataDir, d), { recursive: true });
  stopOrphan(dataDir);

  const http = options.httpPort ?? (await freePort());
  const tcp = options.tcpPort ?? (await freePort());
  const inter = options.interserverPort ?? (await freePort());
  const logFile = join(dataDir, 'server.log');
  const errorLogFile = join(dataDir, 'server.err.log');
  rmSync(errorLogFile, { force: true });
  const configFile = configFileFor(dataDir, options);
  const args = [
    `--config-file=${configFile}`,
    '--',
    `--path=${dataDir}/data/`,
    `--tmp_path=${dataDir}/tmp/`,
    `--user_files_path=${dataDir}/user_files/`,
    `--format_schema_path=${dataDir}/format_schemas/`,
    `--logger.log=${logFile}`,
    `--logger.errorlog=${errorLogFile}`,
    '--logger.console=0',
    `--http_port=${http}`,
    `--tcp_port=${tcp}`,
    `--interserver_http_port=${inter}`,
    '--listen_host=127.0.0.1'
  ];
  // Its own process group: Ctrl-C in a terminal signals the whole foreground group, and the
  // server must outlive the app's shutdown flush (it is stopped by stop(), last). A parent killed
  // with SIGKILL leaves it running; the next start finds it by server.pid and kills it.
  const child: ChildProcess = spawn(binary, args, { stdio: 'ignore', detached: true });
  if (child.pid === undefined) throw new LocalClickHouseError(`could not run ${binary}`);
  const pid = child.pid;
  writeFileSync(join(dataDir, 'server.pid'), String(pid));

  let exited: number | null | undefined;
  const exitedPromise = new Promise<void>((done) =>
    child.once('exit', (code, signal) => {
      exited = code ?? (signal ? -1 : null);
      done();
    })
  );
  // If this process dies of an uncaught error, do not leave the server behind.
  const killOnExit = () => {
    if (exited === undefined) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const url = `http://127.0.0.1:${http}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  while (true) {
    if (exited !== undefined) {
      process.removeListener('exit', killOnExit);
      const reason = reasonFromLog(errorLogFile) || `exited with code ${exited}`;
      throw new LocalClickHouseError(`clickhouse-server could not start: ${reason} (log: ${errorLogFile})`);
    }
    try {
      const res = await fetch(`${url}/ping`);
      if (res.ok && (await res.text()).startsWith('Ok')) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exitedPromise;
      process.removeListener('exit', killOnExit);
      throw new LocalClickHouseError(`clickhouse-server did not answer /ping in time (log: ${errorLogFile})`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    url,
    tcpPort: tcp,
    dataDir,
    logFile,
    errorLogFile,
    pid,
    async stop() {
      if (exited === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exitedPromise;
        clearTimeout(timer);
      }
      process.removeListener('exit', killOnExit);
      rmSync(join(dataDir, 'server.pid'), { force: true });
    }
  };
}
