import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export type TfBackend = 'tensorflow' | 'wasm' | 'cpu';

let selected: Promise<TfBackend> | undefined;

/**
 * Picks the fastest backend this machine can run, once per process, and says which:
 * tfjs-node (native libtensorflow) when it is installed and loads, else wasm (SIMD, one thread;
 * ~2.5× faster than cpu here), else pure-JS cpu. Every caller awaits the same promise, so
 * concurrent first calls do not race two `setBackend`s.
 */
export function tfReady(): Promise<TfBackend> {
  selected ??= select();
  return selected;
}

async function select(): Promise<TfBackend> {
  try {
    // A non-literal specifier: tfjs-node is an optionalDependency whose install fails on
    // machines without access to its libtensorflow download, and neither the bundler nor
    // svelte-check may try to resolve it.
    const native = '@tensorflow/tfjs-node';
    await import(/* @vite-ignore */ native);
    // setBackend resolves false (it does not throw) when a backend fails to initialise.
    if (await tf.setBackend('tensorflow')) return 'tensorflow';
  } catch {
    // Safe to swallow: a missing or broken tfjs-node only means we fall back to wasm below.
  }
  if (!(await tf.setBackend('wasm'))) await tf.setBackend('cpu');
  await tf.ready();
  return tf.getBackend() as TfBackend;
}
