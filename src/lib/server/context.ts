import { env } from '$env/dynamic/private';
import { createAppContext, type AppContext } from './app-context';
import { parseConfig } from './config';

/**
 * The app process's context, built on first use from the environment. Kept on a globalThis
 * symbol: in `vite dev`, editing a server module re-evaluates this file, and a module-level
 * variable would then make a second ClickHouse client and writer.
 */
const SLOT = Symbol.for('pipewall.context');
const slot = globalThis as unknown as Record<symbol, AppContext | undefined>;

export function getContext(): AppContext {
  return (slot[SLOT] ??= createAppContext(parseConfig(env)));
}

export async function closeContext(): Promise<void> {
  const ctx = slot[SLOT];
  slot[SLOT] = undefined;
  await ctx?.close();
}
