/**
 * What reading one zip entry told the check, kept as data (src/check/reuse.ts caches it
 * per wheel): its record, whether it inflates to it, the file type and ELF facts of
 * native code, the flags of a `.pyc` header.
 */
import { readFootprint, type ZipEntry } from "../zip/index.js";
import { ElfFormatError, type ElfInfo, identifyBinary, parseElf } from "./elf.js";

/** How the file type of an entry read as native code was identified. */
export type StoredBinary =
  | { kind: "elf"; elf: ElfInfo }
  | { kind: "unreadable"; reason: string }
  | { kind: "mach-o" | "pe"; description: string }
  | { kind: "text" | "unknown" };

/** What the check found reading one wheel entry. */
export interface EntryFacts {
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** The entry does not inflate to its CRC-32 and length: the zip's copy is read instead. */
  corrupt?: true;
  /** For entries that may be native code (see `mayBeNativeInWheel`). */
  binary?: StoredBinary;
  /** The flags word of a `.pyc` header (PEP 552). */
  pycFlags?: number;
  /**
   * For the wheel's own `METADATA` (its header block: `headerBlock`) and `top_level.txt`,
   * when not larger than `DIST_INFO_TEXT_LIMIT`: the text the check reads from them.
   */
  text?: string;
}

/**
 * Whether a path names a shared library: a `.so` file (`.so.1.2` included) or a file in an
 * auditwheel `<name>.libs/` folder. The `includes` tests come first: the expressions alone
 * cost a scan per "/" of a name, and most names have neither.
 */
export function namesSharedLibrary(name: string): boolean {
  return (
    (name.includes(".so") && /\.so(\.\d+)*$/.test(name)) ||
    (name.includes(".libs/") && /(^|\/)[^/]+\.libs\//.test(name))
  );
}

/** The largest dist-info text kept with a wheel's facts (larger ones are read from the zip). */
export const DIST_INFO_TEXT_LIMIT = 64 * 1024;

/** The wheel entries whose text the facts keep: its dist-info's METADATA and top_level.txt. */
export function isDistInfoText(wheelEntryName: string): boolean {
  return /^[^/]+\.dist-info\/(METADATA|top_level\.txt)$/.test(wheelEntryName);
}

/** Identifies `bytes` as the native scan does: ELF parsed, other binaries described. */
export function describeBinary(bytes: Buffer): StoredBinary {
  const identity = identifyBinary(bytes);
  if (identity.kind === "elf") {
    try {
      return { kind: "elf", elf: parseElf(bytes) };
    } catch (error) {
      if (!(error instanceof ElfFormatError)) throw error;
      return { kind: "unreadable", reason: error.message };
    }
  }
  if (identity.kind === "mach-o" || identity.kind === "pe") {
    return { kind: identity.kind, description: identity.description };
  }
  return { kind: identity.kind };
}

/**
 * How much memory reading an entry takes, what `forEachWeighted` budgets: the reader's own
 * account (`readFootprint`) of a whole read or a chunked verify.
 */
export function entryWeight(entry: ZipEntry, whole: boolean): number {
  return readFootprint(entry, whole);
}
