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
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { crc32, deflateRawSync, constants as zlibConstants } from "node:zlib";
import { fileSystemError, PylayerError } from "../errors.js";
import { BatchedWriter, removeStaleTemporaries, temporarySiblingOf } from "../files.js";
import {
  type CentralRecordFields,
  centralHeaderLength,
  encodeEndRecords,
  encodeLocalHeader,
  FLAG_UTF8,
  HOST_UNIX,
  isAscii,
  LOCAL_HEADER_LENGTH,
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
  localDataOffset,
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
 * Writes `entries` as a deterministic zip at `outputPath` (see the module comment for the
 * rules). The zip is written to a temporary file in the same folder and renamed on success;
 * on failure nothing is left behind. `options.mtime` defaults to the DOS epoch; callers that
 * honour `SOURCE_DATE_EPOCH` pass `deterministicTimestamp()`.
 */
export async function writeDeterministicZip(
  outputPath: string,
  entries: readonly PlannedEntry[],
  options: { mtime?: Date; comment?: string } = {},
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
  const dosDateTime = toDosDateTime(options.mtime ?? DOS_EPOCH);
  const outputEntries = prepareEntries(entries);
  await removeStaleTemporaries(dirname(outputPath));
  const temporaryPath = temporarySiblingOf(outputPath);
  const archiveOrder = new Set<string>();
  for (const entry of outputEntries) {
    if (entry.source?.kind === "zip") archiveOrder.add(entry.source.archivePath);
  }
  const archives = new SourceArchives([...archiveOrder]);
  let handle: FileHandle | undefined;
  let output: HashingOutput | undefined;
  try {
    try {
      handle = await open(temporaryPath, "wx");
    } catch (error) {
      const known = fileSystemError(error, outputPath);
      if (known !== undefined) throw known;
      throw new PylayerError("zip-write-failed", `cannot create ${outputPath}`, {
        cause: error,
        hint: "Check that its folder exists and is writable.",
      });
    }
    output = new HashingOutput(handle);
    const centralRecords: CentralRecordFields[] = [];
    let unzippedSize = 0;
    for (const entry of outputEntries) {
      const flags = isAscii(entry.name) ? 0 : FLAG_UTF8;
      const localHeaderOffset = output.position;
      if (entry.isDirectory || entry.source === undefined) {
        const fields: CentralRecordFields = {
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
        output.push(encodeLocalHeader(fields));
        centralRecords.push(fields);
      } else {
        // Most payloads are at hand (bytes, or an archive already read): no await then.
        const ready = resolvePayload(entry.source, archives);
        const payload = ready instanceof Promise ? await ready : ready;
        const fields: CentralRecordFields = {
          nameBytes: entry.nameBytes,
          flags,
          method: payload.method,
          dosDateTime,
          crc32: payload.crc32,
          compressedSize: payload.compressedSize,
          uncompressedSize: payload.uncompressedSize,
          versionMadeBy: VERSION_MADE_BY,
          externalAttributes: ((S_IFREG | entry.mode) << 16) >>> 0,
          localHeaderOffset,
        };
        output.push(encodeLocalHeader(fields));
        if (payload.data !== undefined) {
          output.push(payload.data);
        } else {
          await output.copyFromFile(
            payload.file.handle,
            payload.file.start,
            payload.compressedSize,
          );
        }
        centralRecords.push(fields);
        unzippedSize += payload.uncompressedSize;
      }
      if (output.isFull()) await output.flushIfFull();
    }
    const centralDirectoryOffset = output.position;
    // The whole central directory in one buffer.
    let centralDirectorySize = 0;
    for (const fields of centralRecords) centralDirectorySize += centralHeaderLength(fields);
    const centralDirectory = Buffer.allocUnsafe(centralDirectorySize);
    let cursor = 0;
    for (const fields of centralRecords) {
      cursor = writeCentralHeader(centralDirectory, cursor, fields);
    }
    output.push(centralDirectory);
    output.push(
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
    await rename(temporaryPath, outputPath);
    return {
      path: outputPath,
      size: output.position,
      sha256: digest.toString("hex"),
      sha256Base64: digest.toString("base64"),
      unzippedSize,
      entryCount: outputEntries.length,
    };
  } catch (error) {
    // A write still in flight ends (or fails) before the file is closed and removed.
    await output?.settle();
    await handle?.close().catch(() => undefined);
    await rm(temporaryPath, { force: true });
    if (error instanceof PylayerError) throw error;
    const known = fileSystemError(error, outputPath);
    if (known !== undefined) throw known;
    throw new PylayerError("zip-write-failed", `writing ${outputPath} failed: ${String(error)}`, {
      cause: error,
      hint: "Check free disk space and that the source archives are still in place.",
    });
  } finally {
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
  | { data?: undefined; file: { handle: FileHandle; start: number } }
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
  const payload = (located: { data: Buffer } | { file: { handle: FileHandle; start: number } }) =>
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
  private readonly handles: { handle: FileHandle }[] = [];
  private readonly position = new Map<string, number>();
  private nextToLoad = 0;

  /** `order`: every source archive in the order of first use. */
  constructor(private readonly order: readonly string[]) {
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
  ): Promise<{ data: Buffer } | { file: { handle: FileHandle; start: number } }> {
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
    let handle: FileHandle;
    try {
      handle = await open(archivePath, "r");
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
    let data: Buffer;
    try {
      data = await readAt(handle, 0, size, archivePath);
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

  async close(): Promise<void> {
    // Let reads in flight finish so that no handle is left open.
    await Promise.all([...this.loaded.values()].map((archive) => archive.catch(() => undefined)));
    this.buffers.clear();
    this.loaded.clear();
    this.ready.clear();
    this.bufferedBytes = 0;
    const handles = this.handles.splice(0);
    await Promise.all(handles.map(({ handle }) => handle.close().catch(() => undefined)));
  }
}

type LoadedArchive =
  | { kind: "buffer"; data: Buffer }
  | { kind: "handle"; handle: FileHandle; size: number };

/** How many archives are loaded ahead of the one in use. */
const READ_AHEAD = 4;

function truncatedSource(archivePath: string, entry: ZipEntry): PylayerError {
  return new PylayerError(
    "corrupt-zip",
    `entry "${entry.name}" of ${archivePath} is corrupt: its data runs past the end of the archive`,
    { hint: "Download the file again." },
  );
}

async function readAt(
  handle: FileHandle,
  position: number,
  length: number,
  archivePath: string,
): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) {
      throw new PylayerError("corrupt-zip", `${archivePath} is shorter than its directory says`, {
        hint: "Download the file again.",
      });
    }
    filled += bytesRead;
  }
  return buffer;
}

/**
 * Buffers output in large chunks and hashes every byte as it is written. One gathered
 * write is kept in flight while the next chunk is assembled (`files.BatchedWriter`).
 */
class HashingOutput {
  private readonly hash = createHash("sha256");
  private readonly writer: BatchedWriter;

  constructor(handle: FileHandle) {
    this.writer = new BatchedWriter(handle, CHUNK_SIZE);
  }

  /** Bytes written or pushed so far: the offset of the next byte. */
  get position(): number {
    return this.writer.position;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.hash.update(chunk);
    this.writer.push(chunk);
  }

  isFull(): boolean {
    return this.writer.full;
  }

  async flushIfFull(): Promise<void> {
    if (this.writer.full) await this.writer.submit();
  }

  /** Writes everything pushed so far and waits until it is on the file. */
  async flush(): Promise<void> {
    await this.writer.finish();
  }

  /** Waits for the write in flight, whether it succeeds or not (before closing the file). */
  async settle(): Promise<void> {
    await this.writer.settle();
  }

  /** Copies `length` bytes of `source` from `start`, in chunks, without holding them all. */
  async copyFromFile(source: FileHandle, start: number, length: number): Promise<void> {
    await this.flush();
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK_SIZE, length));
    let copied = 0;
    while (copied < length) {
      const want = Math.min(chunk.length, length - copied);
      const { bytesRead } = await source.read(chunk, 0, want, start + copied);
      if (bytesRead === 0) throw new Error("source archive ended early");
      const piece = chunk.subarray(0, bytesRead);
      this.hash.update(piece);
      // Written before `chunk` is read into again.
      this.writer.push(piece);
      await this.writer.finish();
      copied += bytesRead;
    }
  }

  digest(): Buffer {
    return this.hash.digest();
  }
}
