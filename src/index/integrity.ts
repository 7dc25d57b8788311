/**
 * Hash and size checks of what an index serves against what it announced (the
 * `#sha256=` fragment or PEP 691 `hashes`, PEP 658/714 metadata hashes, `size`).
 * Every announced hash Node can compute is checked; sha256 is always computed, as
 * it is the cache's content address.
 */
import { createHash, getHashes } from "node:crypto";
import { PylayerError, redactUrl } from "../errors.js";
import type { DistributionFile } from "./types.js";

export const SUPPORTED_HASHES = new Set(getHashes().map((name) => name.toLowerCase()));

/** Hashes of `file.hashes` that Node can compute, sha256 always included. */
export function hashersFor(file: DistributionFile): Map<string, ReturnType<typeof createHash>> {
  const hashers = new Map([["sha256", createHash("sha256")]]);
  for (const name of Object.keys(file.hashes)) {
    if (!hashers.has(name) && SUPPORTED_HASHES.has(name)) hashers.set(name, createHash(name));
  }
  return hashers;
}

/** Throws `hash-mismatch` when a computed digest differs from the announced one. */
export function verifyDigests(file: DistributionFile, digests: Map<string, string>): void {
  for (const [algorithm, expected] of Object.entries(file.hashes)) {
    const actual = digests.get(algorithm);
    if (actual !== undefined && actual !== expected.toLowerCase()) {
      throw hashMismatch(file.filename, file.url, algorithm, expected, actual);
    }
  }
}

/**
 * Checks bytes held in memory (a PEP 658 `.metadata` file) against `hashes`; algorithms
 * Node cannot compute are skipped. `filename` and `url` name the bytes in the error.
 */
export function verifyBytes(
  bytes: Uint8Array,
  hashes: Record<string, string>,
  filename: string,
  url: string,
): void {
  for (const [algorithm, expected] of Object.entries(hashes)) {
    if (!SUPPORTED_HASHES.has(algorithm)) continue;
    const actual = createHash(algorithm).update(bytes).digest("hex");
    if (actual !== expected.toLowerCase()) {
      throw hashMismatch(filename, url, algorithm, expected, actual);
    }
  }
}

export function hashMismatch(
  filename: string,
  url: string,
  algorithm: string,
  expected: string,
  actual: string,
): PylayerError {
  return new PylayerError(
    "hash-mismatch",
    `${filename} from ${redactUrl(url)} has ${algorithm} ${actual}, but the index announced ${expected}.`,
    {
      hint: "The file was altered or corrupted in transit; it was neither cached nor installed. Try again, and report it to the index owner if it persists.",
      details: { filename, url: redactUrl(url), algorithm, expected, actual },
    },
  );
}

export function sizeMismatch(
  file: DistributionFile,
  expected: number,
  actual: number,
  /** The download was stopped once it went past the announced size. */
  stopped = false,
): PylayerError {
  const size = stopped ? `over ${expected} bytes (stopped at ${actual})` : `${actual} bytes`;
  return new PylayerError(
    "size-mismatch",
    `${file.filename} from ${redactUrl(file.url)} is ${size}, but the index announced ${expected}.`,
    {
      hint: "The file was truncated or altered; it was neither cached nor installed. Try again.",
      details: { filename: file.filename, url: redactUrl(file.url), expected, actual },
    },
  );
}
