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
import { createHash, randomBytes } from "node:crypto";
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { crc32, deflateRawSync, constants as zlibConstants } from "node:zlib";
import { PylayerError } from "../errors.js";
import {
  encodeCentralHeader,
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
const ARCHIVE_MEMORY_BUDGET = 512 * 1024 * 1024;
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
  const temporaryPath = join(
    dirname(outputPath),
    `.${basename(outputPath)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`,
  );
  const archives = new SourceArchives();
  let handle: FileHandle | undefined;
  try {
    try {
      handle = await open(temporaryPath, "wx");
    } catch (error) {
      throw new PylayerError("zip-write-failed", `cannot create ${outputPath}`, {
        cause: error,
        hint: "Check that its folder exists and is writable.",
      });
    }
    const output = new HashingOutput(handle);
    const centralHeaders: Buffer[] = [];
    let unzippedSize = 0;
    for (const entry of outputEntries) {
      const flags = isAscii(entry.name) ? 0 : FLAG_UTF8;
      const localHeaderOffset = output.position;
      if (entry.isDirectory || entry.source === undefined) {
        const fields = {
          nameBytes: entry.nameBytes,
          flags,
          method: METHOD_STORED,
          dosDateTime,
          crc32: 0,
          compressedSize: 0,
          uncompressedSize: 0,
        };
        output.push(encodeLocalHeader(fields));
        centralHeaders.push(
          encodeCentralHeader({
            ...fields,
            versionMadeBy: VERSION_MADE_BY,
            externalAttributes: (((S_IFDIR | 0o755) << 16) | DOS_DIRECTORY_ATTRIBUTE) >>> 0,
            localHeaderOffset,
          }),
        );
      } else {
        const payload = await resolvePayload(entry.source, archives);
        const fields = {
          nameBytes: entry.nameBytes,
          flags,
          method: payload.method,
          dosDateTime,
          crc32: payload.crc32,
          compressedSize: payload.compressedSize,
          uncompressedSize: payload.uncompressedSize,
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
        centralHeaders.push(
          encodeCentralHeader({
            ...fields,
            versionMadeBy: VERSION_MADE_BY,
            externalAttributes: ((S_IFREG | entry.mode) << 16) >>> 0,
            localHeaderOffset,
          }),
        );
        unzippedSize += payload.uncompressedSize;
      }
      await output.flushIfFull();
    }
    const centralDirectoryOffset = output.position;
    for (const header of centralHeaders) output.push(header);
    const centralDirectorySize = output.position - centralDirectoryOffset;
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
    await handle?.close().catch(() => undefined);
    await rm(temporaryPath, { force: true });
    if (error instanceof PylayerError) throw error;
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
    const segments = entry.name.split("/");
    for (let length = 1; length < segments.length; length++) {
      const parent = `${segments.slice(0, length).join("/")}/`;
      if (parent !== entry.name) directories.add(parent);
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
  for (const segment of body.split("/")) {
    if (segment === "" || segment === "." || segment === "..") {
      throw invalidEntry(name, "names may not have empty, '.' or '..' segments");
    }
  }
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

async function resolvePayload(source: EntrySource, archives: SourceArchives): Promise<Payload> {
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
  const located = await archives.locate(archivePath, entry);
  return {
    method: entry.method,
    crc32: entry.crc32,
    compressedSize: entry.compressedSize,
    uncompressedSize: entry.uncompressedSize,
    ...located,
  };
}

/**
 * Open source archives, each opened once per zip written. Small archives are read whole into
 * memory (within a budget), larger ones are read with positional reads.
 */
class SourceArchives {
  private readonly buffers = new Map<string, Buffer>();
  private bufferedBytes = 0;
  private readonly handles = new Map<string, { handle: FileHandle; size: number }>();

  async locate(
    archivePath: string,
    entry: ZipEntry,
  ): Promise<{ data: Buffer } | { file: { handle: FileHandle; start: number } }> {
    const buffer = await this.buffer(archivePath);
    if (buffer !== undefined) {
      const data = entryDataFromRecord(
        buffer.subarray(entry.localHeaderOffset),
        entry,
        archivePath,
      );
      if (!Buffer.isBuffer(data)) throw truncatedSource(archivePath, entry);
      return { data };
    }
    const { handle, size } = this.handles.get(archivePath)!;
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

  /** The whole archive when it is small enough to hold, else undefined (and a handle is kept). */
  private async buffer(archivePath: string): Promise<Buffer | undefined> {
    const cached = this.buffers.get(archivePath);
    if (cached !== undefined) {
      // Re-insert to mark it as most recently used.
      this.buffers.delete(archivePath);
      this.buffers.set(archivePath, cached);
      return cached;
    }
    if (this.handles.has(archivePath)) return undefined;
    let handle: FileHandle;
    try {
      handle = await open(archivePath, "r");
    } catch (error) {
      throw new PylayerError("invalid-zip", `cannot open zip archive ${archivePath}`, {
        cause: error,
        hint: "The file was moved or deleted after it was planned; run the build again.",
      });
    }
    const { size } = await handle.stat();
    if (size >= WHOLE_ARCHIVE_LIMIT) {
      this.handles.set(archivePath, { handle, size });
      return undefined;
    }
    let contents: Buffer;
    try {
      contents = await readAt(handle, 0, size, archivePath);
    } finally {
      await handle.close();
    }
    this.buffers.set(archivePath, contents);
    this.bufferedBytes += contents.length;
    for (const [path, held] of this.buffers) {
      if (this.bufferedBytes <= ARCHIVE_MEMORY_BUDGET || path === archivePath) break;
      this.buffers.delete(path);
      this.bufferedBytes -= held.length;
    }
    return contents;
  }

  async close(): Promise<void> {
    this.buffers.clear();
    this.bufferedBytes = 0;
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map(({ handle }) => handle.close().catch(() => undefined)));
  }
}

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

/** Buffers output in large chunks and hashes every byte as it is written. */
class HashingOutput {
  position = 0;
  private readonly hash = createHash("sha256");
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = 0;

  constructor(private readonly handle: FileHandle) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.hash.update(chunk);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.position += chunk.length;
  }

  async flushIfFull(): Promise<void> {
    if (this.pendingBytes >= CHUNK_SIZE) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    await this.writeFully(chunk);
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
      await this.writeFully(piece);
      copied += bytesRead;
    }
    this.position += length;
  }

  digest(): Buffer {
    return this.hash.digest();
  }

  private async writeFully(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const { bytesWritten } = await this.handle.write(
        chunk,
        offset,
        chunk.length - offset,
        this.written,
      );
      offset += bytesWritten;
      this.written += bytesWritten;
    }
  }
}
