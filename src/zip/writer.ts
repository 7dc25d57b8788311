/**
 * The deterministic zip writer: the same planned entries give the same bytes on any host.
 *
 * Rules (each one removes a host-dependent input):
 * - entries sorted by the bytes of their UTF-8 names; parent directories added;
 * - one fixed DOS timestamp (UTC) and no extended timestamp or other extra fields, except the
 *   Zip64 field when a size or offset needs it;
 * - version made by Unix, external attributes `(S_IFREG | mode) << 16` (directories
 *   `S_IFDIR | 0755` plus the MS-DOS directory bit), bit 11 only for non-ASCII names;
 * - no data descriptors: sizes and CRC are known before each local header is written.
 *
 * Entries copied from another zip keep their compressed bytes, method, CRC and sizes.
 * Entries made from bytes are deflated by Node's zlib; zlib's output can differ between zlib
 * versions, which is why wheel payloads are copied raw instead of recompressed, and only
 * small generated files (RECORD, scripts) go through zlib.
 */
import { createHash } from "node:crypto";
import { renameSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { crc32, deflateRawSync, constants as zlibConstants } from "node:zlib";
import { fileSystemError, PylayerError } from "../errors.js";
import {
  BatchedWriter,
  openFile,
  type RandomAccessFile,
  readFully,
  removeStaleTemporaries,
  returnWholeFileBuffer,
  takeSmallestFitting,
  takeWholeFileBuffer,
  temporarySiblingOf,
} from "../files.js";
import {
  type CentralRecordFields,
  centralHeaderLength,
  type DosDateTime,
  encodeEndRecords,
  encodeLocalHeader,
  FLAG_UTF8,
  HOST_UNIX,
  isAscii,
  LOCAL_HEADER_LENGTH,
  localHeaderLength,
  METHOD_DEFLATED,
  METHOD_STORED,
  S_IFDIR,
  S_IFREG,
  toDosDateTime,
  writeCentralHeader,
} from "./format.js";
import {
  assertReadableEntry,
  entryDataFromRecord,
  INITIAL_TAIL_LENGTH,
  localDataOffset,
  parseCentralDirectoryFromTail,
  type ZipEntry,
} from "./reader.js";

export type EntrySource =
  /** `compress` defaults to true: deflate when that makes the entry smaller. */
  | { kind: "bytes"; data: Buffer; compress?: boolean }
  /** A raw copy of `entry`'s compressed bytes from the zip at `archivePath`; nothing is inflated. */
  | { kind: "zip"; archivePath: string; entry: ZipEntry };

export interface PlannedEntry {
  /** Path inside the zip, `/`-separated, relative. A trailing `/` makes an explicit directory. */
  name: string;
  /** Permission bits, normally 0o644 or 0o755 (directories are always 0o755). */
  mode: number;
  source: EntrySource;
}

export interface ZipResult {
  path: string;
  size: number;
  /** Hex SHA-256 of the zip. */
  sha256: string;
  /** Base64 of the raw SHA-256: the form of Lambda's `CodeSha256`. */
  sha256Base64: string;
  /** Sum of the uncompressed sizes of all entries (Lambda's unzipped-size limit counts this). */
  unzippedSize: number;
  /** Entries written, directories included. */
  entryCount: number;
  /** Each entry's name and source key, in zip order (what a later write's `previous` needs). */
  records: ZipRecord[];
  /** Entries copied from `previous` (0 when none or when it was rejected). */
  copiedFromPrevious?: number;
  /** Why `previous` was not used after all (its bytes changed, or it is gone). */
  previousRejected?: string;
}

/** 1980-01-01 00:00:00 UTC, the earliest DOS timestamp. */
export const DOS_EPOCH = new Date(Date.UTC(1980, 0, 1, 0, 0, 0));
/** The latest DOS timestamp, 2107-12-31 23:59:58 UTC. */
const DOS_LATEST = new Date(Date.UTC(2107, 11, 31, 23, 59, 58));

/**
 * The timestamp for every entry: `SOURCE_DATE_EPOCH` (reproducible-builds.org) when set,
 * clamped to the DOS range (1980–2107), else the DOS epoch. A malformed value is an error, as that
 * specification asks.
 */
export function deterministicTimestamp(env: NodeJS.ProcessEnv = process.env): Date {
  const value = env.SOURCE_DATE_EPOCH?.trim();
  if (value === undefined || value === "") return DOS_EPOCH;
  if (!/^\d+$/.test(value)) {
    throw new PylayerError(
      "invalid-source-date-epoch",
      `SOURCE_DATE_EPOCH is "${value}", not a number of seconds since 1970-01-01 UTC`,
      { hint: "Set it to an integer such as $(git log -1 --format=%ct), or unset it." },
    );
  }
  const milliseconds = Number(value) * 1000;
  return new Date(Math.min(Math.max(milliseconds, DOS_EPOCH.getTime()), DOS_LATEST.getTime()));
}

/** Version made by: Unix host, zip specification 4.5 (the Zip64 level). */
const VERSION_MADE_BY = (HOST_UNIX << 8) | 45;
/** The MS-DOS directory attribute, set on directory entries for non-Unix tools. */
const DOS_DIRECTORY_ATTRIBUTE = 0x10;
/** Fixed deflate parameters: the output is a function of these and the zlib version. */
const DEFLATE_OPTIONS = {
  level: 6,
  memLevel: 8,
  windowBits: 15,
  strategy: zlibConstants.Z_DEFAULT_STRATEGY,
};

/** Source archives smaller than this are read whole (one read instead of one per entry). */
const WHOLE_ARCHIVE_LIMIT = 64 * 1024 * 1024;
/** Most memory kept for whole archives at once; the least recently used are dropped first. */
const ARCHIVE_MEMORY_BUDGET = 96 * 1024 * 1024;
/** Output is written in chunks of about this size, and large entries copied in such chunks. */
const CHUNK_SIZE = 8 * 1024 * 1024;

interface OutputEntry {
  name: string;
  nameBytes: Buffer;
  isDirectory: boolean;
  mode: number;
  source: EntrySource | undefined;
}

/**
 * A zip this writer wrote earlier and what each of its entries was made from. A local
 * record is a function of the entry's name, the timestamp and its source's bytes, so an
 * entry of the same name, timestamp and source is copied from it as it stands instead of
 * being assembled again from its wheel: a changed set copies most of its bytes from the
 * previous zip in a few long runs. The previous zip is read once, in order, and hashed
 * (its central directory, read first to find the records, must be the bytes hashed); when
 * its bytes are not `sha256`, or it cannot be read, the zip is written again without it
 * (`ZipResult.previousRejected`), so its bytes never decide the output unverified.
 */
export interface PreviousZip {
  path: string;
  size: number;
  sha256: string;
  /** The timestamp of its entries (epoch milliseconds). */
  mtime: number;
  /** How many entries its central directory lists. */
  entryCount: number;
  /** The source key of its `index`-th entry (directory order), named `name`; undefined: not reusable. */
  sourceOf(index: number, name: string): string | undefined;
}

/** One entry of a written zip, in zip order: its name and source key. */
export interface ZipRecord {
  name: string;
  /** `sourceKey` of the entry's source, "/" for a directory, undefined when not reusable. */
  source: string | undefined;
}

export interface ZipWriteOptions {
  /** Timestamp of every entry; default the DOS epoch. */
  mtime?: Date;
  comment?: string;
  /**
   * A stable name of a raw-copied source (`kind: "zip"`): equal keys promise equal
   * compressed bytes, method, CRC-32 and sizes (e.g. the wheel's sha256 and entry name).
   * With it the result lists the zip's `records` for a later `previous`.
   */
  sourceKey?: (source: Extract<EntrySource, { kind: "zip" }>) => string | undefined;
  previous?: PreviousZip;
  /**
   * Awaited before a source archive is opened (e.g. to verify its hash first); entries
   * copied from `previous` do not open theirs.
   */
  prepareSource?: (archivePath: string) => Promise<void>;
}

/**
 * Writes `entries` as a deterministic zip at `outputPath` (see the module comment for the
 * rules). The zip is written to a temporary file in the same folder and renamed on success;
 * on failure nothing is left behind. `options.mtime` defaults to the DOS epoch; callers that
 * honour `SOURCE_DATE_EPOCH` pass `deterministicTimestamp()`. The bytes do not depend on
 * `previous`: it only saves reading sources again.
 */
export async function writeDeterministicZip(
  outputPath: string,
  entries: readonly PlannedEntry[],
  options: ZipWriteOptions = {},
): Promise<ZipResult> {
  const comment = Buffer.from(options.comment ?? "", "utf8");
  if (comment.length > 0xffff) {
    throw new PylayerError(
      "invalid-zip-entry",
      `the archive comment of ${outputPath} is over 65,535 bytes`,
      {
        hint: "Shorten the comment.",
      },
    );
  }
  const mtime = options.mtime ?? DOS_EPOCH;
  const dosDateTime = toDosDateTime(mtime);
  const outputEntries = prepareEntries(entries);
  const keys = outputEntries.map((entry) =>
    entry.isDirectory
      ? DIRECTORY_SOURCE
      : entry.source?.kind === "zip"
        ? options.sourceKey?.(entry.source)
        : undefined,
  );
  await removeStaleTemporaries(dirname(outputPath));
  const write = (reuse?: { stream: PreviousStream; copies: PreviousCopies }) =>
    writeZip(outputPath, outputEntries, keys, dosDateTime, comment, options.prepareSource, reuse);
  const previous = options.previous;
  if (previous === undefined || !sameTimestamp(previous, dosDateTime)) return write();
  try {
    const stream = await PreviousStream.open(previous);
    const copies = copiesFrom(stream.records, outputEntries, keys);
    if (copies.count === 0) {
      await stream.close();
      return await write();
    }
    return { ...(await write({ stream, copies })), copiedFromPrevious: copies.count };
  } catch (error) {
    if (!(error instanceof PreviousZipUnusable)) throw error;
    return { ...(await write()), copiedFromPrevious: 0, previousRejected: error.message };
  }
}

/** The source key of every directory entry: its record is a function of its name and the timestamp. */
export const DIRECTORY_SOURCE = "/";

/** Which output entries are copied from `previous`: the record offset of each, or -1. */
interface PreviousCopies {
  offsets: number[];
  count: number;
}

function sameTimestamp(previous: PreviousZip, dosDateTime: DosDateTime): boolean {
  const theirs = toDosDateTime(new Date(previous.mtime));
  return theirs.date === dosDateTime.date && theirs.time === dosDateTime.time;
}

/** A local record of the previous zip: where it is, and what made it. */
interface PreviousRecord {
  offset: number;
  length: number;
  source: string | undefined;
}

/**
 * Matches output entries with the previous zip's records of the same name, source key
 * and length. Both zips list entries in the same order, so the matched records are taken
 * in increasing file order (the previous zip is read once, front to back).
 */
function copiesFrom(
  records: ReadonlyMap<string, PreviousRecord>,
  outputEntries: readonly OutputEntry[],
  keys: readonly (string | undefined)[],
): PreviousCopies {
  const offsets = new Array<number>(outputEntries.length).fill(-1);
  let count = 0;
  let total = 0;
  for (const record of records.values()) total += record.length;
  let end = 0;
  let bytes = 0;
  for (const [index, entry] of outputEntries.entries()) {
    const key = keys[index];
    if (key === undefined) continue;
    const old = records.get(entry.name);
    if (old === undefined || old.source !== key || old.offset < end) continue;
    if (old.length !== localRecordLength(entry)) continue;
    offsets[index] = old.offset;
    end = old.offset + old.length;
    bytes += old.length;
    count++;
  }
  // The whole previous zip is read to verify it: a large one is worth it only when it
  // supplies at least half of its records' bytes.
  if (bytes * 2 < total && total > PREVIOUS_CHUNK_SIZE) {
    return { offsets: offsets.fill(-1), count: 0 };
  }
  return { offsets, count };
}

/** The record fields of a regular file whose contents are `content` (compressed as it says). */
function fileRecordFields(
  entry: OutputEntry,
  content: { method: number; crc32: number; compressedSize: number; uncompressedSize: number },
  flags: number,
  dosDateTime: DosDateTime,
  localHeaderOffset: number,
): CentralRecordFields {
  return {
    nameBytes: entry.nameBytes,
    flags,
    method: content.method,
    dosDateTime,
    crc32: content.crc32,
    compressedSize: content.compressedSize,
    uncompressedSize: content.uncompressedSize,
    versionMadeBy: VERSION_MADE_BY,
    externalAttributes: ((S_IFREG | entry.mode) << 16) >>> 0,
    localHeaderOffset,
  };
}

/** The length of the local record the writer makes for `entry` (zip sources and directories). */
function localRecordLength(entry: OutputEntry): number {
  if (entry.isDirectory || entry.source === undefined) {
    return localHeaderLength({
      nameBytes: entry.nameBytes,
      compressedSize: 0,
      uncompressedSize: 0,
    });
  }
  if (entry.source.kind !== "zip") return -1;
  const { compressedSize, uncompressedSize } = entry.source.entry;
  return (
    localHeaderLength({ nameBytes: entry.nameBytes, compressedSize, uncompressedSize }) +
    compressedSize
  );
}

/** The previous zip could not be used (changed or gone): the zip is written without it. */
class PreviousZipUnusable extends Error {}

async function writeZip(
  outputPath: string,
  outputEntries: readonly OutputEntry[],
  keys: readonly (string | undefined)[],
  dosDateTime: DosDateTime,
  comment: Buffer,
  prepareSource: ((archivePath: string) => Promise<void>) | undefined,
  reuse?: { stream: PreviousStream; copies: PreviousCopies },
): Promise<ZipResult> {
  const temporaryPath = temporarySiblingOf(outputPath);
  // Each source archive in the order of first use (its keys), with the output index after
  // which no entry reads it: its memory is reused then.
  const lastUse = new Map<string, number>();
  for (const [index, entry] of outputEntries.entries()) {
    if (reuse !== undefined && reuse.copies.offsets[index]! >= 0) continue;
    if (entry.source?.kind === "zip") lastUse.set(entry.source.archivePath, index);
  }
  const archives = new SourceArchives([...lastUse.keys()], prepareSource);
  let handle: RandomAccessFile | undefined;
  let output: BlockOutput | undefined;
  const previousStream = reuse?.stream;
  try {
    try {
      handle = await openFile(temporaryPath, "wx");
    } catch (error) {
      const known = fileSystemError(error, outputPath);
      if (known !== undefined) throw known;
      throw new PylayerError("zip-write-failed", `cannot create ${outputPath}`, {
        cause: error,
        hint: "Check that its folder exists and is writable.",
      });
    }
    output = new BlockOutput(handle);
    const centralRecords: CentralRecordFields[] = [];
    const records: ZipRecord[] = [];
    let unzippedSize = 0;
    // A run of contiguous records of the previous zip not yet copied.
    let runStart = 0;
    let runLength = 0;
    const copyRun = async () => {
      if (runLength === 0) return;
      await previousStream!.copy(runStart, runLength, output!);
      runLength = 0;
    };
    for (const [index, entry] of outputEntries.entries()) {
      const flags = isAscii(entry.name) ? 0 : FLAG_UTF8;
      const localHeaderOffset = output.position + runLength;
      const copyOffset = reuse === undefined ? -1 : reuse.copies.offsets[index]!;
      let fields: CentralRecordFields;
      if (entry.isDirectory || entry.source === undefined) {
        fields = {
          nameBytes: entry.nameBytes,
          flags,
          method: METHOD_STORED,
          dosDateTime,
          crc32: 0,
          compressedSize: 0,
          uncompressedSize: 0,
          versionMadeBy: VERSION_MADE_BY,
          externalAttributes: (((S_IFDIR | 0o755) << 16) | DOS_DIRECTORY_ATTRIBUTE) >>> 0,
          localHeaderOffset,
        };
        if (copyOffset < 0) {
          await copyRun();
          const pending = output.write(encodeLocalHeader(fields));
          if (pending !== undefined) await pending;
        }
      } else if (copyOffset >= 0 && entry.source.kind === "zip") {
        const { entry: source } = entry.source;
        fields = fileRecordFields(entry, source, flags, dosDateTime, localHeaderOffset);
        assertReadableEntry(source, entry.source.archivePath);
        unzippedSize += source.uncompressedSize;
      } else {
        await copyRun();
        // Most payloads are at hand (bytes, or an archive already read): no await then.
        const ready = resolvePayload(entry.source, archives);
        const payload = ready instanceof Promise ? await ready : ready;
        fields = fileRecordFields(entry, payload, flags, dosDateTime, localHeaderOffset);
        const header = output.write(encodeLocalHeader(fields));
        if (header !== undefined) await header;
        if (payload.data !== undefined) {
          // An archive's bytes are copied (its buffer is reused once its last entry is
          // written); bytes made here are handed on as they are.
          const data =
            entry.source.kind === "zip" ? output.write(payload.data) : output.push(payload.data);
          if (data !== undefined) await data;
        } else {
          await output.copyFromFile(
            payload.file.handle,
            payload.file.start,
            payload.compressedSize,
          );
        }
        unzippedSize += payload.uncompressedSize;
        if (entry.source.kind === "zip" && lastUse.get(entry.source.archivePath) === index) {
          archives.release(entry.source.archivePath);
        }
      }
      if (copyOffset >= 0) {
        const length = localRecordLength(entry);
        if (runLength > 0 && runStart + runLength === copyOffset) {
          runLength += length;
        } else {
          await copyRun();
          runStart = copyOffset;
          runLength = length;
        }
      }
      centralRecords.push(fields);
      records.push({ name: entry.name, source: keys[index] });
    }
    await copyRun();
    // Every byte of the previous zip is hashed before this zip can be used.
    await previousStream?.finish();
    const centralDirectoryOffset = output.position;
    // The whole central directory in one buffer.
    let centralDirectorySize = 0;
    for (const fields of centralRecords) centralDirectorySize += centralHeaderLength(fields);
    const centralDirectory = Buffer.allocUnsafe(centralDirectorySize);
    let cursor = 0;
    for (const fields of centralRecords) {
      cursor = writeCentralHeader(centralDirectory, cursor, fields);
    }
    await output.write(centralDirectory);
    await output.write(
      encodeEndRecords({
        entryCount: outputEntries.length,
        centralDirectorySize,
        centralDirectoryOffset,
        versionMadeBy: VERSION_MADE_BY,
        comment,
      }),
    );
    await output.flush();
    const digest = output.digest();
    await handle.close();
    handle = undefined;
    renameSync(temporaryPath, outputPath);
    return {
      path: outputPath,
      size: output.position,
      sha256: digest.toString("hex"),
      sha256Base64: digest.toString("base64"),
      unzippedSize,
      entryCount: outputEntries.length,
      records,
    };
  } catch (error) {
    // A write still in flight ends (or fails) before the file is closed and removed.
    await output?.settle();
    await handle?.close().catch(() => undefined);
    rmSync(temporaryPath, { force: true });
    if (error instanceof PylayerError || error instanceof PreviousZipUnusable) throw error;
    const known = fileSystemError(error, outputPath);
    if (known !== undefined) throw known;
    throw new PylayerError("zip-write-failed", `writing ${outputPath} failed: ${String(error)}`, {
      cause: error,
      hint: "Check free disk space and that the source archives are still in place.",
    });
  } finally {
    output?.release();
    await previousStream?.close();
    await archives.close();
  }
}

/**
 * Validates names and modes, adds parent directories, rejects duplicates and file/directory
 * clashes, and sorts by the UTF-8 bytes of the names.
 */
function prepareEntries(entries: readonly PlannedEntry[]): OutputEntry[] {
  const files = new Map<string, PlannedEntry>();
  const directories = new Set<string>();
  for (const entry of entries) {
    validateEntryName(entry.name);
    if (entry.name.endsWith("/")) {
      if (entry.source.kind !== "bytes" || entry.source.data.length !== 0) {
        throw invalidEntry(entry.name, "a directory entry (ending in /) cannot have contents");
      }
      directories.add(entry.name);
    } else {
      if (!Number.isInteger(entry.mode) || entry.mode < 0 || entry.mode > 0o777) {
        throw invalidEntry(entry.name, `mode ${entry.mode.toString(8)} is not a permission mode`);
      }
      if (files.has(entry.name)) {
        throw new PylayerError("duplicate-zip-entry", `two entries are named "${entry.name}"`, {
          hint: "Resolve file conflicts before writing the zip.",
        });
      }
      files.set(entry.name, entry);
    }
    // Parents from the nearest up; a parent already known has its own parents known too.
    let slash = entry.name.lastIndexOf("/", entry.name.length - 2);
    while (slash > 0) {
      const parent = entry.name.slice(0, slash + 1);
      if (directories.has(parent)) break;
      directories.add(parent);
      slash = entry.name.lastIndexOf("/", slash - 1);
    }
  }
  const result: OutputEntry[] = [];
  for (const directory of directories) {
    if (files.has(directory.slice(0, -1))) {
      throw new PylayerError(
        "duplicate-zip-entry",
        `"${directory.slice(0, -1)}" is both a file and a directory`,
        { hint: "Resolve file conflicts before writing the zip." },
      );
    }
    result.push({
      name: directory,
      nameBytes: Buffer.from(directory, "utf8"),
      isDirectory: true,
      mode: 0o755,
      source: undefined,
    });
  }
  for (const [name, entry] of files) {
    result.push({
      name,
      nameBytes: Buffer.from(name, "utf8"),
      isDirectory: false,
      mode: entry.mode,
      source: entry.source,
    });
  }
  // UTF-16 code units sort as UTF-8 bytes do unless a name holds a surrogate pair (a code
  // point above U+FFFF): the string comparison is the cheaper one then.
  if (!result.some((entry) => /[\uD800-\uDFFF]/.test(entry.name))) {
    return result.sort((left, right) =>
      left.name < right.name ? -1 : left.name > right.name ? 1 : 0,
    );
  }
  return result.sort((left, right) => Buffer.compare(left.nameBytes, right.nameBytes));
}

function validateEntryName(name: string): void {
  const body = name.endsWith("/") ? name.slice(0, -1) : name;
  if (body === "") throw invalidEntry(name, "the name is empty");
  if (name.includes("\\") || name.includes("\0")) {
    throw invalidEntry(name, "names may not contain backslashes or NUL");
  }
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) {
    throw invalidEntry(name, "names must be relative");
  }
  const badSegment =
    body === "." ||
    body === ".." ||
    body.startsWith("./") ||
    body.startsWith("../") ||
    body.endsWith("/") ||
    body.endsWith("/.") ||
    body.endsWith("/..") ||
    body.includes("//") ||
    body.includes("/./") ||
    body.includes("/../");
  if (badSegment) throw invalidEntry(name, "names may not have empty, '.' or '..' segments");
  if (Buffer.byteLength(name, "utf8") > 0xffff) throw invalidEntry(name, "the name is too long");
}

function invalidEntry(name: string, reason: string): PylayerError {
  return new PylayerError("invalid-zip-entry", `cannot write zip entry "${name}": ${reason}`, {
    hint: "This is a bug in the caller that planned the entry; please report it.",
  });
}

type Payload = {
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
} & (
  | { data: Buffer; file?: undefined }
  | { data?: undefined; file: { handle: RandomAccessFile; start: number } }
);

/** The payload of a source: at once when its bytes are at hand, else once its archive is read. */
function resolvePayload(source: EntrySource, archives: SourceArchives): Payload | Promise<Payload> {
  if (source.kind === "bytes") {
    const checksum = crc32(source.data) >>> 0;
    if (source.compress !== false && source.data.length > 0) {
      const deflated = deflateRawSync(source.data, DEFLATE_OPTIONS);
      if (deflated.length < source.data.length) {
        return {
          method: METHOD_DEFLATED,
          crc32: checksum,
          compressedSize: deflated.length,
          uncompressedSize: source.data.length,
          data: deflated,
        };
      }
    }
    return {
      method: METHOD_STORED,
      crc32: checksum,
      compressedSize: source.data.length,
      uncompressedSize: source.data.length,
      data: source.data,
    };
  }
  const { archivePath, entry } = source;
  assertReadableEntry(entry, archivePath);
  const payload = (
    located: { data: Buffer } | { file: { handle: RandomAccessFile; start: number } },
  ) =>
    ({
      method: entry.method,
      crc32: entry.crc32,
      compressedSize: entry.compressedSize,
      uncompressedSize: entry.uncompressedSize,
      ...located,
    }) as Payload;
  const inMemory = archives.locateInMemory(archivePath, entry);
  if (inMemory !== undefined) return payload({ data: inMemory });
  return archives.locate(archivePath, entry).then(payload);
}

/**
 * Open source archives, each opened once per zip written. Small archives are read whole into
 * memory (within a budget), larger ones are read with positional reads. Archives are loaded
 * a few ahead of use, in the order the writer will need them, so that opening and reading
 * the next archives overlaps with copying the current one.
 */
class SourceArchives {
  private readonly loaded = new Map<string, Promise<LoadedArchive>>();
  /** Archives read whole and still held, by path. */
  private readonly ready = new Map<string, Buffer>();
  /** Whole archives held, least recently used first (for the memory budget). */
  private readonly buffers = new Map<string, Buffer>();
  private bufferedBytes = 0;
  private readonly handles: { handle: RandomAccessFile }[] = [];
  /** Every buffer an archive was read whole into and not yet released, also those dropped from `buffers`. */
  private readonly wholeBuffers = new Map<string, Buffer>();
  /** Buffers of released archives, for the next archives read whole. */
  private readonly free: Buffer[] = [];
  private readonly position = new Map<string, number>();
  private nextToLoad = 0;

  /** `order`: every source archive in the order of first use; `prepare` is awaited before one is opened. */
  constructor(
    private readonly order: readonly string[],
    private readonly prepare: ((archivePath: string) => Promise<void>) | undefined,
  ) {
    for (const [index, path] of order.entries()) this.position.set(path, index);
  }

  /** The entry's compressed bytes when its archive is already in memory, else undefined. */
  locateInMemory(archivePath: string, entry: ZipEntry): Buffer | undefined {
    const data = this.ready.get(archivePath);
    if (data === undefined) return undefined;
    this.load(archivePath);
    const found = entryDataFromRecord(data.subarray(entry.localHeaderOffset), entry, archivePath);
    if (!Buffer.isBuffer(found)) throw truncatedSource(archivePath, entry);
    return found;
  }

  async locate(
    archivePath: string,
    entry: ZipEntry,
  ): Promise<{ data: Buffer } | { file: { handle: RandomAccessFile; start: number } }> {
    const archive = await this.load(archivePath);
    if (archive.kind === "buffer") {
      const data = entryDataFromRecord(
        archive.data.subarray(entry.localHeaderOffset),
        entry,
        archivePath,
      );
      if (!Buffer.isBuffer(data)) throw truncatedSource(archivePath, entry);
      return { data };
    }
    const { handle, size } = archive;
    const available = size - entry.localHeaderOffset;
    // Small entries: header and data in one read. Large ones: read the header, then the
    // writer copies the data in chunks.
    const includeData = entry.compressedSize <= CHUNK_SIZE;
    const dataLength = includeData ? entry.compressedSize : 0;
    const headerGuess = LOCAL_HEADER_LENGTH + Buffer.byteLength(entry.name) + 256;
    let record = await readAt(
      handle,
      entry.localHeaderOffset,
      Math.max(0, Math.min(available, headerGuess + dataLength)),
      archivePath,
    );
    let dataStart = localDataOffset(record, entry, archivePath);
    if (typeof dataStart !== "number") {
      // The local extra field is longer than guessed: read again with the full header.
      if (dataStart.needLength > available) throw truncatedSource(archivePath, entry);
      const length = Math.min(available, dataStart.needLength + dataLength);
      record = await readAt(handle, entry.localHeaderOffset, length, archivePath);
      dataStart = localDataOffset(record, entry, archivePath);
      if (typeof dataStart !== "number") throw truncatedSource(archivePath, entry);
    }
    if (dataStart + entry.compressedSize > available) throw truncatedSource(archivePath, entry);
    if (!includeData) return { file: { handle, start: entry.localHeaderOffset + dataStart } };
    if (record.length < dataStart + entry.compressedSize) {
      record = await readAt(
        handle,
        entry.localHeaderOffset,
        dataStart + entry.compressedSize,
        archivePath,
      );
    }
    return { data: record.subarray(dataStart, dataStart + entry.compressedSize) };
  }

  /** The archive, loading it (and starting the next few in `order`) when needed. */
  private load(archivePath: string): Promise<LoadedArchive> {
    let archive = this.loaded.get(archivePath);
    if (archive === undefined) {
      archive = this.start(archivePath);
    } else {
      const held = this.buffers.get(archivePath);
      if (held !== undefined) {
        // Re-insert to mark it as most recently used.
        this.buffers.delete(archivePath);
        this.buffers.set(archivePath, held);
      }
    }
    const wanted = (this.position.get(archivePath) ?? -1) + READ_AHEAD;
    while (this.nextToLoad <= wanted && this.nextToLoad < this.order.length) {
      const next = this.order[this.nextToLoad++]!;
      if (!this.loaded.has(next)) this.start(next);
    }
    return archive;
  }

  private start(archivePath: string): Promise<LoadedArchive> {
    const archive = this.read(archivePath);
    // A failed read-ahead surfaces when the archive is used.
    archive.catch(() => undefined);
    this.loaded.set(archivePath, archive);
    return archive;
  }

  private async read(archivePath: string): Promise<LoadedArchive> {
    await this.prepare?.(archivePath);
    let handle: RandomAccessFile;
    try {
      handle = await openFile(archivePath, "r");
    } catch (error) {
      throw new PylayerError("invalid-zip", `cannot open zip archive ${archivePath}`, {
        cause: error,
        hint: "The file was moved or deleted after it was planned; run the build again.",
      });
    }
    let size: number;
    try {
      ({ size } = await handle.stat());
    } catch (error) {
      await handle.close();
      throw error;
    }
    if (size >= WHOLE_ARCHIVE_LIMIT) {
      this.handles.push({ handle });
      return { kind: "handle", handle, size };
    }
    // Into memory an earlier whole read touched when there is some: a released archive's
    // (`release`), else one from files.ts (all given back there at `close`).
    const whole = this.takeBuffer(size);
    this.wholeBuffers.set(archivePath, whole);
    let data: Buffer;
    try {
      data = await readAt(handle, 0, size, archivePath, whole);
    } finally {
      await handle.close();
    }
    this.buffers.set(archivePath, data);
    this.ready.set(archivePath, data);
    this.bufferedBytes += data.length;
    for (const [path, held] of this.buffers) {
      if (this.bufferedBytes <= ARCHIVE_MEMORY_BUDGET || path === archivePath) break;
      this.buffers.delete(path);
      this.loaded.delete(path);
      this.ready.delete(path);
      this.bufferedBytes -= held.length;
    }
    return { kind: "buffer", data };
  }

  /** The smallest released buffer that holds `size` bytes, else one from files.ts. */
  private takeBuffer(size: number): Buffer {
    return takeSmallestFitting(this.free, size) ?? takeWholeFileBuffer(size);
  }

  /**
   * The writer is done with `archivePath`: its bytes were copied into the output (never
   * handed on), so its buffer serves the next archive read whole.
   */
  release(archivePath: string): void {
    const whole = this.wholeBuffers.get(archivePath);
    const held = this.ready.get(archivePath);
    if (whole === undefined || held === undefined) return;
    this.wholeBuffers.delete(archivePath);
    this.ready.delete(archivePath);
    this.loaded.delete(archivePath);
    if (this.buffers.delete(archivePath)) this.bufferedBytes -= held.length;
    this.free.push(whole);
  }

  async close(): Promise<void> {
    // Let reads in flight finish so that no handle is left open.
    await Promise.all([...this.loaded.values()].map((archive) => archive.catch(() => undefined)));
    this.buffers.clear();
    this.loaded.clear();
    this.ready.clear();
    this.bufferedBytes = 0;
    // The writer calls this once its writes are on the file (or have failed).
    for (const buffer of [...this.wholeBuffers.values(), ...this.free.splice(0)]) {
      returnWholeFileBuffer(buffer);
    }
    this.wholeBuffers.clear();
    const handles = this.handles.splice(0);
    await Promise.all(handles.map(({ handle }) => handle.close().catch(() => undefined)));
  }
}

type LoadedArchive =
  | { kind: "buffer"; data: Buffer }
  | { kind: "handle"; handle: RandomAccessFile; size: number };

/** How many archives are loaded ahead of the one in use. */
const READ_AHEAD = 4;

function truncatedSource(archivePath: string, entry: ZipEntry): PylayerError {
  return new PylayerError(
    "corrupt-zip",
    `entry "${entry.name}" of ${archivePath} is corrupt: its data runs past the end of the archive`,
    { hint: "Download the file again." },
  );
}

/** `length` bytes at `position`, read into the start of `buffer` (default: fresh memory). */
async function readAt(
  handle: RandomAccessFile,
  position: number,
  length: number,
  archivePath: string,
  buffer: Buffer = Buffer.allocUnsafe(length),
): Promise<Buffer> {
  if (!(await readFully(handle, buffer, length, position))) {
    throw new PylayerError("corrupt-zip", `${archivePath} is shorter than its directory says`, {
      hint: "Download the file again.",
    });
  }
  return buffer.subarray(0, length);
}

/** Size of each of the two blocks through which a previous zip is read. */
const PREVIOUS_CHUNK_SIZE = 2 * 1024 * 1024;

/**
 * A previous zip read once, front to back, through two reused blocks (the next one read
 * while the current one is used), every byte hashed: `copy` hands ranges to the output
 * in increasing order, `finish` reads the rest and rejects the zip when its sha256 is not
 * the recorded one. `open` reads its central directory first to find the records; those
 * bytes must be the ones the stream hashes when it gets there.
 */
class PreviousStream {
  private readonly hash = createHash("sha256");
  private readonly blocks = [
    Buffer.allocUnsafe(PREVIOUS_CHUNK_SIZE),
    Buffer.allocUnsafe(PREVIOUS_CHUNK_SIZE),
  ];
  /** The block in use: its index, file position and length. */
  private current = { index: 0, start: 0, length: 0 };
  private next: Promise<number> | undefined;
  /** Its records by entry name. */
  records = new Map<string, PreviousRecord>();
  /** The bytes from the central directory to the end, as read to find the records. */
  private tail: { offset: number; bytes: Buffer } = { offset: 0, bytes: Buffer.alloc(0) };

  private constructor(
    private readonly handle: RandomAccessFile,
    private readonly previous: PreviousZip,
  ) {}

  static async open(previous: PreviousZip): Promise<PreviousStream> {
    let handle: RandomAccessFile;
    try {
      handle = await openFile(previous.path, "r");
    } catch (error) {
      throw new PreviousZipUnusable(`${previous.path} cannot be opened: ${String(error)}`);
    }
    const stream = new PreviousStream(handle, previous);
    try {
      await stream.readDirectory();
    } catch (error) {
      await stream.close();
      throw error instanceof PreviousZipUnusable
        ? error
        : new PreviousZipUnusable(`${previous.path} cannot be read: ${String(error)}`);
    }
    stream.next = stream.readBlock(1 - stream.current.index, 0);
    return stream;
  }

  /** Finds every local record: the writer's records are contiguous, in directory order. */
  private async readDirectory(): Promise<void> {
    const { path, size } = this.previous;
    const { size: actual } = await this.handle.stat();
    if (actual !== size) {
      throw new PreviousZipUnusable(`${path} is ${actual} bytes, not the ${size} recorded`);
    }
    let tailLength = Math.min(INITIAL_TAIL_LENGTH, size);
    for (let attempt = 0; ; attempt++) {
      const tail = await readAt(this.handle, size - tailLength, tailLength, path);
      const parsed = parseCentralDirectoryFromTail(tail, size, path);
      if (parsed.kind === "need-more") {
        if (attempt >= 2) throw new PreviousZipUnusable(`${path} has no readable directory`);
        tailLength = Math.min(parsed.tailLength, size);
        continue;
      }
      const { entries, centralDirectoryOffset } = parsed.directory;
      if (entries.length !== this.previous.entryCount) {
        throw new PreviousZipUnusable(
          `${path} lists ${entries.length} entries, not the ${this.previous.entryCount} recorded`,
        );
      }
      for (const [index, entry] of entries.entries()) {
        const end = entries[index + 1]?.localHeaderOffset ?? centralDirectoryOffset;
        if (end <= entry.localHeaderOffset) {
          throw new PreviousZipUnusable(`${path} does not hold its records in directory order`);
        }
        this.records.set(entry.name, {
          offset: entry.localHeaderOffset,
          length: end - entry.localHeaderOffset,
          source: this.previous.sourceOf(index, entry.name),
        });
      }
      this.tail = {
        offset: centralDirectoryOffset,
        bytes: tail.subarray(centralDirectoryOffset - (size - tailLength)),
      };
      return;
    }
  }

  private readBlock(index: number, start: number): Promise<number> {
    const length = Math.min(PREVIOUS_CHUNK_SIZE, this.previous.size - start);
    const read = readFully(this.handle, this.blocks[index]!, length, start).then((complete) => {
      if (!complete) throw new PreviousZipUnusable(`${this.previous.path} ended early`);
      return length;
    });
    read.catch(() => undefined);
    return read;
  }

  /** Hashes a finished block, and holds its part of the directory to the bytes read first. */
  private consumed(index: number, start: number, length: number): void {
    if (length === 0) return;
    const block = this.blocks[index]!.subarray(0, length);
    this.hash.update(block);
    const from = Math.max(start, this.tail.offset);
    const to = start + length;
    if (from < to) {
      const streamed = block.subarray(from - start, to - start);
      const read = this.tail.bytes.subarray(from - this.tail.offset, to - this.tail.offset);
      if (!streamed.equals(read)) {
        throw new PreviousZipUnusable(`${this.previous.path} changed while it was read`);
      }
    }
  }

  /** Moves to the next block: consumes the finished one and starts reading the one after. */
  private async advance(): Promise<void> {
    const { index, start, length } = this.current;
    this.consumed(index, start, length);
    const nextStart = start + length;
    const nextIndex = 1 - index;
    let nextLength: number;
    try {
      nextLength = await this.next!;
    } catch (error) {
      throw error instanceof PreviousZipUnusable
        ? error
        : new PreviousZipUnusable(`${this.previous.path} cannot be read: ${String(error)}`);
    }
    this.current = { index: nextIndex, start: nextStart, length: nextLength };
    const following = nextStart + nextLength;
    this.next =
      following < this.previous.size ? this.readBlock(index, following) : Promise.resolve(0);
  }

  /** Hands bytes [start, start + length) to `output` (start at or after every earlier range). */
  async copy(start: number, length: number, output: BlockOutput): Promise<void> {
    let position = start;
    const end = start + length;
    while (position < end) {
      while (position >= this.current.start + this.current.length) {
        if (this.current.start + this.current.length >= this.previous.size) {
          throw new PreviousZipUnusable(`${this.previous.path} is shorter than its records`);
        }
        await this.advance();
      }
      const { index, start: blockStart, length: blockLength } = this.current;
      const from = position - blockStart;
      const to = Math.min(blockLength, end - blockStart);
      const pending = output.write(this.blocks[index]!.subarray(from, to));
      if (pending !== undefined) await pending;
      position = blockStart + to;
    }
  }

  /** Reads and hashes the rest; rejects the zip when its bytes are not the recorded ones. */
  async finish(): Promise<void> {
    while (this.current.start + this.current.length < this.previous.size) await this.advance();
    const { index, start, length } = this.current;
    this.consumed(index, start, length);
    this.current = { index, start: this.previous.size, length: 0 };
    if (this.hash.digest("hex") !== this.previous.sha256) {
      throw new PreviousZipUnusable(
        `${this.previous.path} does not hash to the sha256 recorded with it`,
      );
    }
  }

  async close(): Promise<void> {
    await this.next?.catch(() => undefined);
    await this.handle.close().catch(() => undefined);
  }
}

/** Pieces smaller than this are copied into the output's blocks; larger ones are written as they are. */
const SMALL_PIECE = 16 * 1024;
/** Size of each of the output's two blocks of small pieces. */
const BLOCK_SIZE = 1024 * 1024;
/** Bytes gathered before one positioned write starts. */
const BATCH_SIZE = 4 * 1024 * 1024;

/** Block pairs of finished writers, kept for the next zip of the process (a matrix writes many). */
const sparePairs: [Buffer, Buffer][] = [];
const SPARE_PAIRS_KEPT = 2;

/**
 * The zip's bytes on their way to the file, hashed in order. Small pieces (local headers,
 * small entries) are copied into one of two reused blocks, so that a run of them is one
 * hash update and one piece of a gathered write; large pieces are hashed and written as
 * they are (`push`: the caller keeps them unchanged until written). One gathered write is
 * in flight while the next batch is assembled, each batch's small pieces in the other
 * block.
 */
class BlockOutput {
  private readonly hash = createHash("sha256");
  private readonly writer: BatchedWriter;
  private readonly blocks: [Buffer, Buffer];
  private current = 0;
  private filled = 0;
  /** Where in the current block the bytes not yet given to `writer` start. */
  private segmentStart = 0;

  constructor(handle: RandomAccessFile) {
    this.writer = new BatchedWriter(handle, BATCH_SIZE);
    this.blocks = sparePairs.pop() ?? [
      Buffer.allocUnsafe(BLOCK_SIZE),
      Buffer.allocUnsafe(BLOCK_SIZE),
    ];
  }

  /** Bytes given so far: the offset of the next byte. */
  get position(): number {
    return this.writer.position + this.filled - this.segmentStart;
  }

  /** Copies `chunk` (which the caller may reuse at once); a promise only when a batch was started. */
  write(chunk: Uint8Array): Promise<void> | undefined {
    if (this.filled + chunk.length <= BLOCK_SIZE) {
      this.blocks[this.current]!.set(chunk, this.filled);
      this.filled += chunk.length;
      return this.batchReady() ? this.submit() : undefined;
    }
    return this.writeAcross(chunk);
  }

  /** `write` for large pieces without copying them: `chunk` must stay unchanged until written. */
  push(chunk: Uint8Array): Promise<void> | undefined {
    if (chunk.length < SMALL_PIECE) return this.write(chunk);
    this.closeSegment();
    this.hash.update(chunk);
    this.writer.push(chunk);
    return this.batchReady() ? this.submit() : undefined;
  }

  private async writeAcross(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.filled === BLOCK_SIZE) await this.submit();
      const take = Math.min(BLOCK_SIZE - this.filled, chunk.length - offset);
      this.blocks[this.current]!.set(chunk.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
    }
    if (this.batchReady()) await this.submit();
  }

  /** Copies `length` bytes of `source` from `start` through the blocks. */
  async copyFromFile(source: RandomAccessFile, start: number, length: number): Promise<void> {
    let copied = 0;
    while (copied < length) {
      if (this.filled === BLOCK_SIZE) await this.submit();
      const block = this.blocks[this.current]!;
      const want = Math.min(BLOCK_SIZE - this.filled, length - copied);
      const { bytesRead } = await source.read(block, this.filled, want, start + copied);
      if (bytesRead === 0) throw new Error("source archive ended early");
      this.filled += bytesRead;
      copied += bytesRead;
    }
  }

  private batchReady(): boolean {
    return this.writer.unsubmitted + this.filled - this.segmentStart >= BATCH_SIZE;
  }

  /** Gives the block's bytes not yet given to the batch (hashed in order). */
  private closeSegment(): void {
    if (this.filled === this.segmentStart) return;
    const segment = this.blocks[this.current]!.subarray(this.segmentStart, this.filled);
    this.hash.update(segment);
    this.writer.push(segment);
    this.segmentStart = this.filled;
  }

  /**
   * Starts writing the batch; `BatchedWriter.submit` first waits for the write in flight,
   * which held the other block, so that block is free to fill next.
   */
  private async submit(): Promise<void> {
    this.closeSegment();
    if (this.writer.unsubmitted === 0) return;
    await this.writer.submit();
    this.current = 1 - this.current;
    this.filled = 0;
    this.segmentStart = 0;
  }

  /** Writes everything given so far and waits until it is on the file. */
  async flush(): Promise<void> {
    this.closeSegment();
    await this.writer.finish();
  }

  /** Waits for the write in flight, whether it succeeds or not (before closing the file). */
  async settle(): Promise<void> {
    await this.writer.settle();
  }

  digest(): Buffer {
    return this.hash.digest();
  }

  /** Hands the blocks to the next writer (after `flush` or `settle`). */
  release(): void {
    if (sparePairs.length < SPARE_PAIRS_KEPT) sparePairs.push(this.blocks);
  }
}
