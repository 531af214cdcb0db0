import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small OpenAI-compatible server on 127.0.0.1 for tests: the real `openai` client talks to it
 * through `baseURL`, so the tests cover the actual wire protocol (headers, retries, timeouts,
 * error bodies) without the network. Only POST /v1/chat/completions, non-streaming.
 *
 * Each request takes the next scripted reply (`respondWith`), else the standing one
 * (`respondAlways`), else a 500 saying nothing was scripted, so a forgotten script fails loudly.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
}

export type StubReply =
  /** The model calls tools; `arguments` objects are JSON-encoded, strings are sent as is (so they can be broken). */
  | { kind: 'tool_calls'; calls: readonly { name: string; arguments: string | object }[]; content?: string | null; finishReason?: string }
  /** The model answers in words and calls nothing. */
  | { kind: 'content'; content: string; finishReason?: string }
  /** An HTTP error with OpenAI's error body. */
  | { kind: 'error'; status: number; message?: string; type?: string; headers?: Record<string, string> }
  /** Any body at all, e.g. broken JSON under an application/json content type. */
  | { kind: 'raw'; body: string; status?: number; contentType?: string }
  /** Send the headers and part of a body, then nothing more. */
  | { kind: 'stall_body' }
  /** Wait, then answer with `then`; a client that gives up first just closes the connection. */
  | { kind: 'delay'; ms: number; then: StubReply };

export type StubScript = StubReply | ((request: RecordedRequest) => StubReply);

export interface OpenAIStub {
  /** e.g. http://127.0.0.1:40123/v1, for OPENAI_BASE_URL. */
  baseURL: string;
  requests: RecordedRequest[];
  /** Queue one reply per coming request, in order. */
  respondWith(...replies: StubScript[]): void;
  /** The reply for any request once the queue is empty. */
  respondAlways(reply: StubScript): void;
  /** Forget scripts and recorded requests (between tests). */
  reset(): void;
  close(): Promise<void>;
}

/** A tool call reply, the common case. */
export function toolCall(name: string, args: string | object): StubReply {
  return { kind: 'tool_calls', calls: [{ name, arguments: args }] };
}

export async function startOpenAIStub(): Promise<OpenAIStub> {
  const requests: RecordedRequest[] = [];
  let queue: StubScript[] = [];
  let standing: StubScript | undefined;
  const timers = new Set<NodeJS.Timeout>();
  let served = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const recorded: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: parseJson(text) };
      requests.push(recorded);
      if (recorded.method !== 'POST' || recorded.path !== '/v1/chat/completions') {
        send(res, 404, { error: { message: `stub: no route ${recorded.method} ${recorded.path}`, type: 'invalid_request_error', param: null, code: null } });
        return;
      }
      const script = queue.shift() ?? standing ?? { kind: 'error', status: 500, message: 'openai-stub: no reply scripted' };
      const reply = typeof script === 'function' ? script(recorded) : script;
      play(res, reply, recorded, ++served);
    });
  });

  function play(res: ServerResponse, reply: StubReply, request: RecordedRequest, n: number): void {
    switch (reply.kind) {
      case 'tool_calls':
      case 'content':
        send(res, 200, completion(reply, request, n));
        return;
      case 'error':
        send(res, reply.status, { error: { message: reply.message ?? `stub error ${reply.status}`, type: reply.type ?? 'server_error', param: null, code: null } }, reply.headers);
        return;
      case 'raw':
        res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'application/json', 'x-request-id': `req_stub_${n}` });
        res.end(reply.body);
        return;
      case 'stall_body':
        res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': `req_stub_${n}` });
        res.write('{"id":"chatcmpl-stub-');
        return;
      case 'delay': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!res.destroyed) play(res, reply.then, request, n);
        }, reply.ms);
        timers.add(timer);
        res.on('close', () => {
          clearTimeout(timer);
          timers.delete(timer);
        });
        return;
      }
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    respondWith: (...replies) => void queue.push(...replies),
    respondAlways: (reply) => void (standing = reply),
    reset() {
      queue = [];
      standing = undefined;
      requests.length = 0;
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      // Stalled and delayed responses hold their sockets open; close() alone would wait for them.
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    }
  };
}

/** A non-streaming chat.completion body as OpenAI sends it. */
function completion(reply: Extract<StubReply, { kind: 'tool_calls' | 'content' }>, request: RecordedRequest, n: number) {
  const model = typeof request.body === 'object' && request.body !== null && 'model' in request.body ? String(request.body.model) : 'stub';
  const toolCalls =
    reply.kind === 'tool_calls'
      ? reply.calls.map((c, i) => ({
          id: `call_stub_${n}_${i}`,
          type: 'function',
          function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments) }
        }))
      : undefined;
  const content = reply.kind === 'content' ? reply.content : (reply.content ?? null);
  const completionTokens = Math.ceil(JSON.stringify(toolCalls ?? content ?? '').length / 4);
  return {
    id: `chatcmpl-stub-${n}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: 'fp_stub',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null, ...(toolCalls ? { tool_calls: toolCalls } : {}) },
        logprobs: null,
        finish_reason: reply.finishReason ?? (toolCalls ? 'tool_calls' : 'stop')
      }
    ],
    usage: { prompt_tokens: 100, completion_tokens: completionTokens, total_tokens: 100 + completionTokens }
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_stub_${Date.now()}`, ...headers });
  res.end(JSON.stringify(body));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // a test may want to see what a client sent even when it was not JSON
  }
}
