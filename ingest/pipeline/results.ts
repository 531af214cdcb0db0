import type { RejectCode } from '../../src/lib/contracts/ingest';

/**
 * What a pipeline step returns: the value to pass on, or a rejection with a stable code (an API
 * field and a metric label) and a message a developer can act on.
 */
export type StepResult<T> =
  | { ok: true; value: T }
  | { ok: false; code: RejectCode; field: string; message: string };

export const ok = <T>(value: T): StepResult<T> => ({ ok: true, value });

export const reject = <T = never>(code: RejectCode, field: string, message: string): StepResult<T> => ({
  ok: false,
  code,
  field,
  message
});
