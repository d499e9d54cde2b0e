// Loads the WASM core once per process (compiled module cached), instantiates it synchronously, and re-creates the
// instance after an abort so that one bad call never poisons the next.
import { readFileSync } from 'node:fs';
import { CoreAbortError, CoreLoadError } from '../errors.js';

/** Numbers-only exports shared by every area of the core; areas add their own functions. */
export interface CoreExports {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  free(ptr: number): void;
  [name: string]: unknown;
}

export type CoreFlavour = 'release' | 'debug';

const modules = new Map<CoreFlavour, WebAssembly.Module>();

function wasmUrl(flavour: CoreFlavour): URL {
  // src/core/wasm.ts and dist/core/wasm.js are both two levels below the package root.
  return new URL(`../../build/${flavour}.wasm`, import.meta.url);
}

function compiledModule(flavour: CoreFlavour): WebAssembly.Module {
  let mod = modules.get(flavour);
  if (!mod) {
    const url = wasmUrl(flavour);
    try {
      mod = new WebAssembly.Module(readFileSync(url));
    } catch (err) {
      throw new CoreLoadError(url.pathname, { cause: err });
    }
    modules.set(flavour, mod);
  }
  return mod;
}

function liftString(memory: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return '';
  const len = new Uint32Array(memory.buffer, ptr - 4, 1)[0] >>> 1;
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, len));
}

/**
 * One live instance of the core. `call` runs a function against the current instance; if the core traps
 * (abort, unreachable, out-of-bounds), the instance is discarded, a fresh one created, and a
 * FORESIGHT_ERR_CORE_ABORT error thrown. The forecasting state lives in host memory, so nothing of it is lost; what a
 * caller keeps in the core's own memory between calls (ResidentDetectors in anomaly.ts) is lost, and such a caller
 * compares `restarts` with what it was when it put its data there.
 */
export class Core {
  #exports!: CoreExports;
  #lastAbort = '';
  readonly flavour: CoreFlavour;
  /** How many times the instance was re-created after a trap (exported as a metric by the sidecar). */
  restarts = 0;

  constructor(flavour: CoreFlavour = 'release') {
    this.flavour = flavour;
    this.#instantiate();
  }

  #instantiate(): void {
    const imports = {
      env: {
        abort: (msg: number, file: number, line: number, col: number) => {
          const mem = this.#exports?.memory;
          this.#lastAbort = mem ? `${liftString(mem, msg)} at ${liftString(mem, file)}:${line}:${col}` : 'abort';
          throw new WebAssembly.RuntimeError(this.#lastAbort);
        },
        // Math.random is seeded from here; the core's own models use explicit seeds, so this is never on a result path.
        seed: () => 0x5eed,
        trace: () => undefined,
      },
    };
    const instance = new WebAssembly.Instance(compiledModule(this.flavour), imports);
    this.#exports = instance.exports as unknown as CoreExports;
  }

  get exports(): CoreExports {
    return this.#exports;
  }

  /** Runs `fn` against the current instance, turning a trap into a coded error and a fresh instance. */
  call<T>(fn: (x: CoreExports) => T): T {
    try {
      return fn(this.#exports);
    } catch (err) {
      if (err instanceof WebAssembly.RuntimeError) {
        const detail = this.#lastAbort || err.message;
        this.#lastAbort = '';
        this.restarts++;
        this.#instantiate();
        throw new CoreAbortError(detail, { cause: err });
      }
      throw err;
    }
  }

  /** A Float64Array view of `len` doubles at `ptr`. Views detach when memory grows: take them after each call. */
  f64(ptr: number, len: number): Float64Array {
    return new Float64Array(this.#exports.memory.buffer, ptr, len);
  }

  i32(ptr: number, len: number): Int32Array {
    return new Int32Array(this.#exports.memory.buffer, ptr, len);
  }

  /** Copies `data` into fresh core memory and returns the pointer (the caller frees it). */
  putF64(data: ArrayLike<number>): number {
    const ptr = this.#exports.alloc(Math.max(8, data.length * 8));
    this.f64(ptr, data.length).set(data);
    return ptr;
  }

  /** Allocates `len` doubles, runs `fn(ptr)`, and frees them afterwards, even on error. */
  withF64<T>(len: number, fn: (ptr: number) => T): T {
    const ptr = this.#exports.alloc(Math.max(8, len * 8));
    try {
      return fn(ptr);
    } finally {
      this.#exports.free(ptr);
    }
  }
}

let shared: Core | undefined;

/** The process-wide release instance (tests may create their own `new Core('debug')`). */
export function sharedCore(): Core {
  shared ??= new Core('release');
  return shared;
}
