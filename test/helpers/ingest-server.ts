import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveIngest, type IngestRequest } from '../../src/lib/server/ingest-endpoint';

export interface IngestServer {
  port: number;
  close(): Promise<void>;
}

/** The production entry's ingest path (node:http → serveIngest) on a free loopback port. */
export async function listenIngest(ingest: (request: IngestRequest) => Promise<Response>): Promise<IngestServer> {
  const server = createServer((req, res) => void serveIngest(req, res, ingest));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    }
  };
}
