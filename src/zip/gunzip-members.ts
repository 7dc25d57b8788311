/**
 * Inflates a multi-member gzip stream (RFC 1952) whose contents are only checked: zlib
 * verifies each member's CRC-32 and length against its trailer, and the caller copies what
 * little it keeps. The stream is assembled in one input buffer and inflated into one output
 * buffer, both reused by every call, through one zlib context reset between calls. Where
 * memory touched for the first time is expensive (virtual machines whose freed pages go back
 * to the host), inflating 1 MB of Python source into fresh memory ran at 176–232 MB/s and
 * into reused memory at 565 MB/s: the fresh pages, not the inflating, were the cost.
 *
 * Node.js has no public API that inflates into a caller's buffer. Its zlib streams' handle
 * has one (`writeSync`, what `zlib.gunzipSync` itself calls); it is used when present, and
 * `gunzipSync` otherwise, with the same results in fresh memory.
 */
import { createGunzip, type Gunzip, gunzipSync, constants as zlibConstants } from "node:zlib";

/** The part of a zlib stream's handle this module uses (`lib/zlib.js`, `processChunkSync`). */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inputOffset: number,
    inputLength: number,
    output: Uint8Array,
    outputOffset: number,
    outputLength: number,
  ): void;
}

interface EngineInternals {
  /** Documented (`zlib.reset()`), missing from @types/node's `Gunzip`. */
  reset(): void;
  _handle?: ZlibHandle | null;
  /** [output bytes left, input bytes left] after a `writeSync`. */
  _writeState?: Uint32Array;
}

let engine: Gunzip | undefined;
let handleMissing = false;
let input = Buffer.alloc(0);
let output = Buffer.alloc(0);

/** Uses `gunzipSync` from now on (for tests of that path). */
export function useFreshMemoryForGunzip(fresh: boolean): void {
  handleMissing = fresh;
  engine?.destroy();
  engine = undefined;
}

/**
 * The contents of the gzip stream made of `parts` (concatenated), or null when it does not
 * inflate to exactly `outputLength` bytes or zlib finds it invalid (a member's CRC-32 or
 * length differs from its trailer, a stream is cut short, bytes follow the last member).
 * The buffer returned is valid only until the next call.
 */
export function gunzipMembers(parts: readonly Buffer[], outputLength: number): Buffer | null {
  const reusable = reusableEngine();
  if (reusable === undefined) {
    try {
      const inflated = gunzipSync(Buffer.concat(parts), {
        maxOutputLength: outputLength + 1,
        chunkSize: Math.max(zlibConstants.Z_MIN_CHUNK, outputLength + 1),
      });
      return inflated.length === outputLength ? inflated : null;
    } catch {
      return null;
    }
  }
  let inputLength = 0;
  for (const part of parts) inputLength += part.length;
  if (input.length < inputLength) input = Buffer.allocUnsafe(inputLength);
  let offset = 0;
  for (const part of parts) offset += part.copy(input, offset);
  // One byte of headroom: a stream that inflates to more than it should fills it.
  if (output.length < outputLength + 1) output = Buffer.allocUnsafe(outputLength + 1);
  const { handle, state, current } = reusable;
  // zlib errors destroy the stream (synchronously, inside `writeSync`); its 'error' event
  // is emitted later, to the listener `reusableEngine` attached.
  handle.writeSync(zlibConstants.Z_FINISH, input, 0, inputLength, output, 0, outputLength + 1);
  if (current.destroyed) return null;
  const [outputLeft, inputLeft] = state;
  if (inputLeft !== 0 || outputLeft === undefined) return null;
  return outputLength + 1 - outputLeft === outputLength ? output.subarray(0, outputLength) : null;
}

function reusableEngine(): { handle: ZlibHandle; state: Uint32Array; current: Gunzip } | undefined {
  if (handleMissing) return undefined;
  if (engine === undefined || engine.destroyed) {
    engine = createGunzip();
    // Errors are read from `destroyed` after each call.
    engine.on("error", () => undefined);
  } else {
    (engine as unknown as EngineInternals).reset();
  }
  const { _handle: handle, _writeState: state } = engine as unknown as EngineInternals;
  if (typeof handle?.writeSync !== "function" || !(state instanceof Uint32Array)) {
    handleMissing = true;
    engine.destroy();
    engine = undefined;
    return undefined;
  }
  return { handle, state, current: engine };
}
