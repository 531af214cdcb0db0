import type { z } from 'zod';
import { agentEventSchema, eventTypes, type AgentEvent } from '../../src/lib/contracts/events';
import { UnparsableLine } from './parse-body';
import { ok, reject, type StepResult } from './results';

const knownTypes = new Set<string>(eventTypes);

/** Validate one item of a request against the shared contract; the first problem is reported. */
export function validateEvent(item: unknown): StepResult<AgentEvent> {
  if (item instanceof UnparsableLine) return reject('invalid_json', `line ${item.line}`, item.message);
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return reject('not_an_object', '', 'each event must be a JSON object');
  }
  const type = (item as { type?: unknown }).type;
  if (typeof type !== 'string' || !knownTypes.has(type)) {
    return reject(
      type === undefined ? 'missing_field' : 'unknown_type',
      'type',
      `type must be one of: ${eventTypes.join(', ')}`
    );
  }
  const parsed = agentEventSchema.safeParse(item);
  if (parsed.success) return ok(parsed.data);
  return rejectionFromIssue(parsed.error.issues[0]);
}

function rejectionFromIssue(issue: z.core.$ZodIssue | undefined): StepResult<never> {
  if (!issue) return reject('invalid_field', '', 'invalid event');
  if (issue.code === 'unrecognized_keys') {
    const field = [...issue.path, issue.keys[0] ?? ''].join('.');
    return reject('unknown_field', field, `unknown field "${field}"`);
  }
  const field = issue.path.join('.');
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return reject('missing_field', field, `${field} is required`);
  }
  return reject('invalid_field', field, `${field}: ${issue.message}`);
}
