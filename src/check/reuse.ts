/**
 * Check results as cached data, so that an unchanged layer is not checked again and a
 * changed one reads only its new wheels:
 *
 * - per wheel (`checks-v1/wheels`, key: wheel sha256 + checker version): what reading every
 *   entry of the wheel found (each entry inflates to its recorded CRC-32 and length; the
 *   file type and ELF facts of native code: machine, DT_NEEDED, RPATH/RUNPATH, GLIBC/
 *   GLIBCXX/CXXABI needs; the flags word of `.pyc` files; the text of its dist-info's
 *   METADATA headers and top_level.txt). These facts do not depend on the target: every
 *   target's findings are derived from them, so one wheel read serves a whole matrix.
 * - per zip (`checks-v1/layers`, key: zip sha256 + targets + kind + handler + the layers'
 *   sha256 + checker version): the static findings of each target, the sizes and the
 *   count of ELF files. The import test, which depends on the machine's interpreters, is
 *   never cached.
 *
 * A zip entry takes a wheel's facts only when the build says it was copied raw from that
 * wheel (`WheelSource`: the writer copies compressed bytes unchanged) and its central
 * directory record (method, CRC-32, sizes) is the one the facts were read for; anything
 * else (RECORD and INSTALLER written by pylayer, scripts, compiled bytecode, function
 * source) is read from the zip; the RECORD texts the build wrote are handed to the check
 * too (`ZipSources.generated`), which takes them when the zip's record is theirs. Entries
 * are verified in the cache like any other: a damaged result is deleted, reported, and
 * computed again.
 */
import { statSync } from "node:fs";
import { type Cache, sha256Hex } from "../cache/index.js";
import { isPylayerError } from "../errors.js";
import {
  openFile,
  readFully,
  returnWholeFileBuffer,
  SPARE_WHOLE_FILE_LIMIT,
  takeWholeFileBuffer,
} from "../files.js";
import { allOrFirstFailure } from "../pipeline/settle.js";
import { pylayerVersion } from "../pipeline/version.js";
import { headerBlock } from "../wheel/index.js";
import { ZipReader as Reader, type ZipEntry, type ZipReader } from "../zip/index.js";
import {
  DIST_INFO_TEXT_LIMIT,
  describeBinary,
  type EntryFacts,
  entryWeight,
  isDistInfoText,
  namesSharedLibrary,
} from "./facts.js";
import { forEachLimited, forEachWeighted, sharedReadBudget } from "./layout.js";
import type { Finding, SizeReport } from "./types.js";
import { CHECKER_VERSION } from "./version.js";

/** The entries of a zip that a build copied raw from one wheel. */
export interface WheelSource {
  /** sha256 of the wheel file (the facts' key). */
  sha256: string;
  /** Where the wheel is (read when its facts are not cached). */
  path: string;
  /** Awaited before the wheel is read (a build verifies a cached wheel's hash then). */
  verified?: () => Promise<void>;
  /** Zip entry name → the wheel entry it was copied from. */
  entries: { zipName: string; wheelName: string }[];
}

/** What a build knows about the sources of one zip it wrote, for its check. */
export interface ZipSources {
  /** The entries copied raw from each wheel. */
  wheels: WheelSource[];
  /** The dist-info files the build wrote itself (RECORD, INSTALLER), by zip entry name. */
  generated: Map<string, Buffer>;
}

interface WheelFacts {
  entries: Record<string, EntryFacts>;
}

/**
 * Wheel facts already read by this build, by the wheel's sha256: the zips of a matrix share
 * most of their wheels, and each would otherwise read and parse the same cached facts again.
 * One per build (never process-wide), so that every build still sees the cache as it is.
 */
export type WheelFactsMemo = Map<string, WheelFacts>;

/** The static part of a check (everything but the import test), as cached per zip. */
export interface StaticAnalysis {
  /** The zip is damaged: `findings` holds only the corrupt entries. */
  corrupt: boolean;
  /** Findings of each target, in target order. */
  perTarget: Finding[][];
  sizes: SizeReport;
  elfFiles: number;
}

/** The key of a zip's static check result. */
export async function layerCheckKey(inputs: {
  zipSha256: string;
  kind: "layer" | "function";
  targets: string[];
  handler: string | null;
  layers: string[];
}): Promise<string> {
  return sha256Hex(
    JSON.stringify({ checker: CHECKER_VERSION, pylayer: await pylayerVersion(), ...inputs }),
  );
}

async function wheelFactsKey(sha256: string): Promise<string> {
  return sha256Hex(
    JSON.stringify({ checker: CHECKER_VERSION, pylayer: await pylayerVersion(), wheel: sha256 }),
  );
}

export function asStaticAnalysis(value: unknown): StaticAnalysis | null {
  if (typeof value !== "object" || value === null) return null;
  const { corrupt, perTarget, sizes, elfFiles } = value as Partial<StaticAnalysis>;
  if (typeof corrupt !== "boolean" || typeof elfFiles !== "number") return null;
  if (typeof sizes !== "object" || sizes === null) return null;
  if (!Array.isArray(perTarget) || !perTarget.every((list) => Array.isArray(list))) return null;
  return value as StaticAnalysis;
}

function asWheelFacts(value: unknown): WheelFacts | null {
  if (typeof value !== "object" || value === null) return null;
  const { entries } = value as Partial<WheelFacts>;
  if (typeof entries !== "object" || entries === null) return null;
  return value as WheelFacts;
}

/**
 * Wheel entries whose installed copy may be read as native code: shared objects,
 * auditwheel's `.libs/` folders, and `.data/data/` files (which land in the layer's
 * `bin/` or `lib/` in some layouts). They are read whole and identified.
 */
function mayBeNativeInWheel(name: string): boolean {
  return namesSharedLibrary(name) || name.includes(".data/data/");
}

/**
 * How much memory verifying the plain entries of one wheel (those not read whole) holds at
 * once: a batch of `ZipReader.verifyEach` (its compressed bytes, their gzip framing and what
 * they inflate to), or a chunk of each side of one large entry.
 */
const PLAIN_VERIFY_WEIGHT = 4 * 1024 * 1024;

/**
 * Wheels up to this size are read whole, in one read, into a buffer that a later whole
 * read reuses (`takeWholeFileBuffer`: the zip writer's released buffers, then the check's
 * own) when the check's read budget has room for it; larger ones, and any while the budget
 * is full, through the reader's read-ahead blocks, which are fresh memory each.
 * Reading a cold build's 36 wheels (32 MB) through fresh blocks cost more in pages touched
 * for the first time than in reading. Two wheels are read at once.
 */
export const WHOLE_WHEEL_LIMIT = SPARE_WHOLE_FILE_LIMIT;

/** Opens the wheel at `path`, read whole into a reused buffer when it is small enough. */
async function openWheel(path: string): Promise<{ reader: ZipReader; close: () => Promise<void> }> {
  const { size } = statSync(path);
  // Held within the check's read budget, and only when it has room now: waiting for room
  // while this wheel's own entries wait for theirs could wait forever.
  if (size > WHOLE_WHEEL_LIMIT || !sharedReadBudget.tryAcquire(size)) {
    const reader = await Reader.open(path, { sequential: true });
    return { reader, close: () => reader.close() };
  }
  const buffer = takeWholeFileBuffer(size);
  try {
    const handle = await openFile(path, "r");
    try {
      if (!(await readFully(handle, buffer, size, 0))) throw new Error(`${path} was truncated`);
    } finally {
      await handle.close();
    }
    const reader = Reader.fromBuffer(buffer.subarray(0, size), path);
    return {
      reader,
      close: async () => {
        returnWholeFileBuffer(buffer);
        sharedReadBudget.release(size);
      },
    };
  } catch (error) {
    returnWholeFileBuffer(buffer);
    sharedReadBudget.release(size);
    throw error;
  }
}

/**
 * Reads every entry of the wheel at `path` once and records what the check needs. Nothing
 * in the facts refers to the wheel's bytes (texts are strings, binaries parsed), so its
 * buffer is reused once this returns.
 */
async function readWheelFacts(path: string): Promise<WheelFacts> {
  const { reader, close } = await openWheel(path);
  try {
    const files = reader.entries.filter((entry) => !entry.isDirectory && !entry.isSymlink);
    const found = new Map<ZipEntry, EntryFacts>();
    const recordOf = (entry: ZipEntry): EntryFacts => ({
      method: entry.method,
      crc32: entry.crc32,
      compressedSize: entry.compressedSize,
      uncompressedSize: entry.uncompressedSize,
    });
    // Read whole: native code (identified) and the dist-info texts the check reads; the
    // plain rest is only verified.
    const whole: ZipEntry[] = [];
    const native = new Set<ZipEntry>();
    const plain: ZipEntry[] = [];
    for (const entry of files) {
      if (mayBeNativeInWheel(entry.name)) {
        native.add(entry);
        whole.push(entry);
      } else if (isDistInfoText(entry.name) && entry.uncompressedSize <= DIST_INFO_TEXT_LIMIT) {
        whole.push(entry);
      } else {
        plain.push(entry);
      }
    }
    // Each pass reads in the order of the directory, which the read-ahead blocks follow; the
    // whole-read pass inflates its large entries on libuv's pool while the plain one runs here.
    const wholePass = forEachWeighted(
      whole,
      (entry) => entryWeight(entry, true),
      async (entry) => {
        const facts = recordOf(entry);
        try {
          const bytes = await reader.read(entry);
          if (native.has(entry)) facts.binary = describeBinary(bytes);
          else {
            const text = bytes.toString("utf8");
            facts.text = entry.name.endsWith("/METADATA") ? headerBlock(text) : text;
          }
          if (entry.name.endsWith(".pyc") && bytes.length >= 16)
            facts.pycFlags = bytes.readUInt32LE(4);
        } catch (error) {
          if (!isPylayerError(error)) throw error;
          facts.corrupt = true;
        }
        found.set(entry, facts);
      },
    );
    const plainPass = (async () => {
      await sharedReadBudget.acquire(PLAIN_VERIFY_WEIGHT);
      try {
        const heads = await reader.verifyEach(plain, 16);
        for (const [index, entry] of plain.entries()) {
          const facts = recordOf(entry);
          const head = heads[index]!;
          if (!Buffer.isBuffer(head)) facts.corrupt = true;
          else if (entry.name.endsWith(".pyc") && head.length >= 16)
            facts.pycFlags = head.readUInt32LE(4);
          found.set(entry, facts);
        }
      } finally {
        sharedReadBudget.release(PLAIN_VERIFY_WEIGHT);
      }
    })();
    // Both passes end before the reader is closed, also when one fails.
    await allOrFirstFailure([wholePass, plainPass]);
    // In the order of the directory (a repeated name keeps its last entry, as a reader does).
    const entries: Record<string, EntryFacts> = {};
    for (const entry of files) entries[entry.name] = found.get(entry)!;
    return { entries };
  } finally {
    await close();
  }
}

function sameRecord(facts: EntryFacts, entry: ZipEntry): boolean {
  return (
    facts.method === entry.method &&
    facts.crc32 >>> 0 === entry.crc32 >>> 0 &&
    facts.compressedSize === entry.compressedSize &&
    facts.uncompressedSize === entry.uncompressedSize
  );
}

/** What reusing wheel facts did, for the result's `cache` report. */
export interface WheelReuse {
  /** Zip entry name → the facts of the wheel entry it is a raw copy of. */
  facts: Map<string, EntryFacts>;
  wheelsReused: number;
  wheelsRead: number;
}

/**
 * The facts of the zip entries copied from `sources`, from the cache or by reading the
 * wheels (then stored). A wheel that cannot be read leaves its entries to be read from
 * the zip.
 */
export async function wheelFactsFor(
  reader: ZipReader,
  sources: readonly WheelSource[],
  cache: Cache | null,
  onCorrupt: (path: string, reason: string) => void,
  memo?: WheelFactsMemo,
): Promise<WheelReuse> {
  const facts = new Map<string, EntryFacts>();
  let wheelsReused = 0;
  let wheelsRead = 0;
  // Facts read are stored while the next wheels are read; all stored (or failed) before
  // this returns or throws.
  const stores: Promise<unknown>[] = [];
  try {
    // Two wheels at once; their entries share the check's read budget.
    await forEachLimited(sources, 2, async (source) => {
      let wheel = memo?.get(source.sha256) ?? null;
      if (wheel !== null) {
        wheelsReused++;
      } else {
        const key = await wheelFactsKey(source.sha256);
        wheel =
          cache === null ? null : asWheelFacts(await cache.getCheck("wheels", key, { onCorrupt }));
        if (wheel !== null) {
          wheelsReused++;
        } else {
          // A wheel that cannot be verified or read is read through the zip instead.
          wheel = await (source.verified?.() ?? Promise.resolve())
            .then(() => readWheelFacts(source.path))
            .catch(() => null);
          if (wheel === null) return;
          wheelsRead++;
          if (cache !== null)
            stores.push(cache.putCheck("wheels", key, wheel).catch(() => undefined));
        }
        memo?.set(source.sha256, wheel);
      }
      for (const { zipName, wheelName } of source.entries) {
        const entry = reader.getEntry(zipName);
        const found = wheel.entries[wheelName];
        if (entry === undefined || found === undefined || found.corrupt) continue;
        if (sameRecord(found, entry)) facts.set(zipName, found);
      }
    });
  } finally {
    await Promise.all(stores);
  }
  return { facts, wheelsReused, wheelsRead };
}
