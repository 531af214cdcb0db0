import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout; one logger per process, children per component. */
export function createLogger(level: string, name = 'pipewall'): Logger {
  return pino({ name, level });
}
