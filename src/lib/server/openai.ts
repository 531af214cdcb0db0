import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { z } from 'zod';
import type { ServerConfig } from './config';

/**
 * The one door to an OpenAI-compatible model (issue 7, items 4 and 5). Callers describe a single
 * tool and get back the model's raw tool calls, or a failure as a value: a model that is slow,
 * down or answering nonsense is an expected outcome here, and the callers fall back to the local
 * parser or the templates. Nothing returned is trusted: `arguments` is text the caller must parse
 * and validate like any other input.
 */

/** A function tool the model is forced to call. `parameters` is a JSON Schema object. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ToolRequest {
  system: string;
  user: string;
  tool: ToolSpec;
}

/** One tool call as the model made it; `arguments` is unvalidated JSON text. */
export interface RawToolCall {
  name: string;
  arguments: string;
}

export type ToolFailure = 'timeout' | 'http_error' | 'connection' | 'malformed_response';

export type ToolAnswer =
  | { ok: true; calls: RawToolCall[]; /** Plain text the model wrote instead of (or beside) a call. */ content: string; finishReason: string }
  | { ok: false; reason: ToolFailure; /** For the log, never for the person: may quote the server. */ detail: string };

export interface LanguageModel {
  /** The model name sent with each request. */
  readonly model: string;
  /** Ask once, forcing `request.tool`. Resolves within the configured timeout; never rejects for server trouble. */
  callTool(request: ToolRequest): Promise<ToolAnswer>;
}

export type LanguageModelConfig = Pick<ServerConfig, 'OPENAI_API_KEY' | 'OPENAI_BASE_URL' | 'OPENAI_MODEL' | 'OPENAI_TIMEOUT_MS'>;

// Passed explicitly because the client reads process.env itself for anything left undefined, and
// config.ts is the one place that reads the environment.
const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/** A model from the settings, or null when no key is set (the local parser and templates answer). */
export function createLanguageModel(config: LanguageModelConfig): LanguageModel | null {
  if (!config.OPENAI_API_KEY) return null;
  const client = new OpenAI({
    apiKey: config.OPENAI_API_KEY,
    baseURL: config.OPENAI_BASE_URL ?? DEFAULT_BASE_URL,
    organization: null,
    project: null,
    adminAPIKey: null,
    webhookSecret: null,
    timeout: config.OPENAI_TIMEOUT_MS,
    // One retry covers a dropped connection or a brief 5xx/429; more would only keep the person
    // waiting for the local fallback.
    maxRetries: 1
  });
  return createModelFromClient(client, config.OPENAI_MODEL, config.OPENAI_TIMEOUT_MS);
}

/**
 * The client's `timeout` covers each attempt only up to the response headers, and it honours any
 * Retry-After a server sends, uncapped. A person is waiting, so the whole call (attempts, pauses
 * and reading the body) gets one deadline: OPENAI_TIMEOUT_MS, as the setting promises.
 */
function createModelFromClient(client: OpenAI, model: string, deadlineMs: number): LanguageModel {
  return {
    model,
    async callTool(request) {
      const controller = new AbortController();
      const expired = new Promise<'expired'>((resolve) => {
        controller.signal.addEventListener('abort', () => resolve('expired'), { once: true });
      });
      const timer = setTimeout(() => controller.abort(), deadlineMs);
      const call = client.chat.completions
        .create(
          {
            model,
            messages: [
              { role: 'system', content: request.system },
              { role: 'user', content: request.user }
            ],
            tools: [{ type: 'function', function: request.tool }],
            tool_choice: { type: 'function', function: { name: request.tool.name } }
          },
          { signal: controller.signal }
        )
        .then((body): ToolAnswer => readCompletion(body), (error: unknown): ToolAnswer => {
          if (controller.signal.aborted) return { ok: false, reason: 'timeout', detail: `no answer within ${deadlineMs} ms` };
          return describeFailure(error);
        });
      try {
        const outcome = await Promise.race([call, expired]);
        return outcome === 'expired' ? { ok: false, reason: 'timeout', detail: `no answer within ${deadlineMs} ms` } : outcome;
      } finally {
        clearTimeout(timer);
      }
    }
  };
}

/** The parts of a chat completion we read. The body is the server's word, so it is checked too. */
const completionSchema = z.object({
  choices: z
    .array(
      z.object({
        finish_reason: z.string().nullish(),
        message: z.object({
          content: z.string().nullish(),
          tool_calls: z
            .array(z.object({ type: z.string().optional(), function: z.object({ name: z.string(), arguments: z.string() }) }))
            .nullish()
        })
      })
    )
    .min(1)
});

function readCompletion(body: unknown): ToolAnswer {
  const parsed = completionSchema.safeParse(body);
  if (!parsed.success) return { ok: false, reason: 'malformed_response', detail: 'the answer is not a chat completion' };
  const [choice] = parsed.data.choices;
  if (!choice) return { ok: false, reason: 'malformed_response', detail: 'no choices' };
  return {
    ok: true,
    calls: (choice.message.tool_calls ?? []).map((c) => ({ name: c.function.name, arguments: c.function.arguments })),
    content: choice.message.content ?? '',
    finishReason: choice.finish_reason ?? ''
  };
}

/** Server and network trouble become values; anything else is a bug and is rethrown. */
function describeFailure(error: unknown): ToolAnswer {
  if (error instanceof APIConnectionTimeoutError || error instanceof APIUserAbortError) {
    return { ok: false, reason: 'timeout', detail: error.message };
  }
  if (error instanceof APIConnectionError) return { ok: false, reason: 'connection', detail: error.message };
  if (error instanceof APIError) return { ok: false, reason: 'http_error', detail: error.message };
  // The client parses any application/json body with response.json(); a broken one throws here.
  if (error instanceof SyntaxError) return { ok: false, reason: 'malformed_response', detail: error.message };
  throw error;
}
