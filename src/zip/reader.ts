/**
 * A zip reader written for pylayer: it reads the end records and the central directory
 * (Zip64 aware), then reads single entries on demand, either raw (compressed bytes as
 * stored, for copying into another zip) or inflated and CRC-checked.
 *
 * Bytes come from a `RandomAccessSource`, so the same code reads a local file, a buffer,
 * or a remote wheel through HTTP range requests: `fromSource` asks for the last 64 KiB,
 * then for more only when the central directory starts earlier, and reads one entry with a
 * single request covering its local header and data.
 */

import { constants as bufferConstants } from "node:buffer";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import {
  crc32,
  createInflateRaw,
  inflateRaw,
  inflateRawSync,
  constants as zlibConstants,
} from "node:zlib";
import { PylayerError } from "../errors.js";
import { openFile, type RandomAccessFile, ReadBudget } from "../files.js";
import {
  CENTRAL_HEADER_LENGTH,
  CENTRAL_HEADER_SIGNATURE,
  decodeEntryName,
  END_OF_CENTRAL_DIRECTORY_LENGTH,
  END_OF_CENTRAL_DIRECTORY_SIGNATURE,
  FLAG_ENCRYPTED,
  FLAG_ENCRYPTED_CENTRAL_DIRECTORY,
  FLAG_STRONG_ENCRYPTION,
  HOST_UNIX,
  LOCAL_HEADER_LENGTH,
  LOCAL_HEADER_SIGNATURE,
  MAX_END_OF_CENTRAL_DIRECTORY_SEARCH,
  METHOD_DEFLATED,
  METHOD_STORED,
  readUInt64,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  UINT16_SENTINEL,
  UINT32_SENTINEL,
  ZIP64_END_OF_CENTRAL_DIRECTORY_LENGTH,
  ZIP64_END_OF_CENTRAL_DIRECTORY_SIGNATURE,
  ZIP64_EXTRA_FIELD_ID,
  ZIP64_LOCATOR_LENGTH,
  ZIP64_LOCATOR_SIGNATURE,
} from "./format.js";
import { gunzipMembers } from "./gunzip-members.js";

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated; anything else cannot be read. */
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
  /** General purpose bit flags from the central directory. */
  flags: number;
  versionMadeBy: number;
  externalAttributes: number;
  /** The POSIX `st_mode` (type and permission bits) when the entry was made on Unix and records one. */
  unixMode: number | undefined;
  isDirectory: boolean;
  isSymlink: boolean;
}

/** Random access to the bytes of one archive: a file, a buffer, or ranges of a remote file. */
export interface RandomAccessSource {
  /** Total size of the archive in bytes. */
  readonly size: number;
  /** Exactly `length` bytes starting at `offset` (callers never ask past `size`). */
  read(offset: number, length: number): Promise<Buffer>;
  close?(): Promise<void>;
}

export interface CentralDirectory {
  entries: ZipEntry[];
  centralDirectoryOffset: number;
  centralDirectorySize: number;
  /** The archive comment of the end record (UTF-8). */
  comment: string;
}

/**
 * The outcome of parsing the end of an archive: either the directory, or how many bytes
 * from the end of the file (`tailLength`, always more than given) must be supplied instead.
 */
export type TailParseResult =
  | { kind: "complete"; directory: CentralDirectory }
  | { kind: "need-more"; tailLength: number };

/** How much of the end of an archive to fetch first: enough for nearly every wheel's directory. */
export const INITIAL_TAIL_LENGTH = 64 * 1024;

/**
 * Parses the central directory from `tail`, the last `tail.length` bytes of an archive of
 * `fileSize` bytes. Throws `invalid-zip` or `unsupported-zip-feature` for archives that can
 * never be read; returns `need-more` when the records it needs start before the tail.
 *
 * Remote use: fetch the last `min(INITIAL_TAIL_LENGTH, fileSize)` bytes, call this, fetch
 * the last `tailLength` bytes while it asks for more (at most twice), then read an entry
 * with `entryRecordRange` and `entryDataFromRecord`.
 */
export function parseCentralDirectoryFromTail(
  tail: Buffer,
  fileSize: number,
  archiveName = "zip archive",
): TailParseResult {
  if (tail.length > fileSize) throw new RangeError("tail is longer than the file");
  const tailStart = fileSize - tail.length;
  const fullSearchLength = Math.min(
    fileSize,
    MAX_END_OF_CENTRAL_DIRECTORY_SEARCH +
      ZIP64_LOCATOR_LENGTH +
      ZIP64_END_OF_CENTRAL_DIRECTORY_LENGTH,
  );
  if (fileSize < END_OF_CENTRAL_DIRECTORY_LENGTH) {
    throw invalidZip(archiveName, `it is only ${fileSize} bytes long`);
  }

  const endPosition = findEndOfCentralDirectory(tail);
  if (endPosition === undefined) {
    if (tail.length < fullSearchLength) return { kind: "need-more", tailLength: fullSearchLength };
    throw invalidZip(archiveName, "it has no end of central directory record");
  }
  const endOffset = tailStart + endPosition;
  const comment = commentAt(tail, endPosition);
  let diskNumber = tail.readUInt16LE(endPosition + 4);
  let centralDirectoryDisk = tail.readUInt16LE(endPosition + 6);
  let entryCount = tail.readUInt16LE(endPosition + 10);
  let centralDirectorySize = tail.readUInt32LE(endPosition + 12);
  let centralDirectoryOffset = tail.readUInt32LE(endPosition + 16);
  // Where the central directory must end: at the Zip64 end record if there is one.
  let centralDirectoryLimit = endOffset;

  // The Zip64 locator, if any, sits right before the end record.
  if (endOffset >= ZIP64_LOCATOR_LENGTH) {
    const locatorOffset = endOffset - ZIP64_LOCATOR_LENGTH;
    if (locatorOffset < tailStart)
      return { kind: "need-more", tailLength: fileSize - locatorOffset };
    const locatorPosition = locatorOffset - tailStart;
    if (tail.readUInt32LE(locatorPosition) === ZIP64_LOCATOR_SIGNATURE) {
      const zip64EndOffset = readUInt64(tail, locatorPosition + 8);
      if (
        zip64EndOffset === null ||
        zip64EndOffset + ZIP64_END_OF_CENTRAL_DIRECTORY_LENGTH > locatorOffset
      ) {
        throw invalidZip(archiveName, "its Zip64 end of central directory locator is corrupt");
      }
      if (tail.readUInt32LE(locatorPosition + 16) > 1) {
        throw unsupported(archiveName, "it is split over several disks");
      }
      if (zip64EndOffset < tailStart) {
        return { kind: "need-more", tailLength: fileSize - zip64EndOffset };
      }
      const zip64Position = zip64EndOffset - tailStart;
      if (tail.readUInt32LE(zip64Position) !== ZIP64_END_OF_CENTRAL_DIRECTORY_SIGNATURE) {
        throw invalidZip(archiveName, "its Zip64 end of central directory record is missing");
      }
      diskNumber = tail.readUInt32LE(zip64Position + 16);
      centralDirectoryDisk = tail.readUInt32LE(zip64Position + 20);
      const count = readUInt64(tail, zip64Position + 32);
      const size = readUInt64(tail, zip64Position + 40);
      const offset = readUInt64(tail, zip64Position + 48);
      if (count === null || size === null || offset === null) {
        throw invalidZip(archiveName, "its Zip64 end of central directory record is corrupt");
      }
      entryCount = count;
      centralDirectorySize = size;
      centralDirectoryOffset = offset;
      centralDirectoryLimit = zip64EndOffset;
    }
  }

  if (diskNumber !== 0 || centralDirectoryDisk !== 0) {
    throw unsupported(archiveName, "it is split over several disks");
  }
  if (centralDirectoryOffset + centralDirectorySize > centralDirectoryLimit) {
    throw invalidZip(archiveName, "its central directory runs past the end records (truncated?)");
  }
  if (entryCount * CENTRAL_HEADER_LENGTH > centralDirectorySize) {
    throw invalidZip(archiveName, "its central directory is smaller than its entry count needs");
  }
  if (centralDirectoryOffset < tailStart) {
    return { kind: "need-more", tailLength: fileSize - centralDirectoryOffset };
  }

  const entries = parseCentralDirectory(
    tail.subarray(
      centralDirectoryOffset - tailStart,
      centralDirectoryOffset - tailStart + centralDirectorySize,
    ),
    entryCount,
    centralDirectoryOffset,
    archiveName,
  );
  return {
    kind: "complete",
    directory: { entries, centralDirectoryOffset, centralDirectorySize, comment },
  };
}

/** Position of the last end record whose comment fits in `tail`, scanning backwards. */
function findEndOfCentralDirectory(tail: Buffer): number | undefined {
  const lowest = Math.max(0, tail.length - MAX_END_OF_CENTRAL_DIRECTORY_SEARCH);
  for (
    let position = tail.length - END_OF_CENTRAL_DIRECTORY_LENGTH;
    position >= lowest;
    position--
  ) {
    if (
      tail[position] === 0x50 &&
      tail.readUInt32LE(position) === END_OF_CENTRAL_DIRECTORY_SIGNATURE &&
      position + END_OF_CENTRAL_DIRECTORY_LENGTH + tail.readUInt16LE(position + 20) <= tail.length
    ) {
      return position;
    }
  }
  return undefined;
}

/** The archive comment that follows the end record at `position` of `tail` (UTF-8). */
function commentAt(tail: Buffer, position: number): string {
  const start = position + END_OF_CENTRAL_DIRECTORY_LENGTH;
  return tail.toString("utf8", start, start + tail.readUInt16LE(position + 20));
}

/**
 * The archive comment of the zip at `path`, from its end record alone (the central
 * directory is not read). Throws `invalid-zip` when there is no end record.
 */
export async function readZipComment(path: string): Promise<string> {
  const handle = await openFile(path, "r");
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, MAX_END_OF_CENTRAL_DIRECTORY_SEARCH);
    const tail = Buffer.alloc(length);
    const { bytesRead } = await handle.read(tail, 0, length, size - length);
    const position = bytesRead === length ? findEndOfCentralDirectory(tail) : undefined;
    if (position === undefined) throw invalidZip(path, "it has no end of central directory record");
    return commentAt(tail, position);
  } finally {
    await handle.close();
  }
}

/** Little-endian integers at `offset` (the caller has checked the bounds). */
function uint16(bytes: Buffer, offset: number): number {
  return bytes[offset]! | (bytes[offset + 1]! << 8);
}

function uint32(bytes: Buffer, offset: number): number {
  return (
    (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16)) +
    bytes[offset + 3]! * 0x1000000
  );
}

function parseCentralDirectory(
  directory: Buffer,
  entryCount: number,
  centralDirectoryOffset: number,
  archiveName: string,
): ZipEntry[] {
  const entries: ZipEntry[] = [];
  let position = 0;
  for (let index = 0; index < entryCount; index++) {
    if (
      position + CENTRAL_HEADER_LENGTH > directory.length ||
      uint32(directory, position) !== CENTRAL_HEADER_SIGNATURE
    ) {
      throw invalidZip(archiveName, `central directory header ${index + 1} is corrupt`);
    }
    // Plain byte reads: a directory of thousands of entries is parsed once per process,
    // mostly before the JIT has optimized this loop, where Buffer's checked readers cost.
    const versionMadeBy = uint16(directory, position + 4);
    const flags = uint16(directory, position + 8);
    const method = uint16(directory, position + 10);
    const crc = uint32(directory, position + 16);
    let compressedSize = uint32(directory, position + 20);
    let uncompressedSize = uint32(directory, position + 24);
    const nameLength = uint16(directory, position + 28);
    const extraLength = uint16(directory, position + 30);
    const commentLength = uint16(directory, position + 32);
    let diskStart = uint16(directory, position + 34);
    const externalAttributes = uint32(directory, position + 38);
    let localHeaderOffset = uint32(directory, position + 42);
    const nameStart = position + CENTRAL_HEADER_LENGTH;
    const extraStart = nameStart + nameLength;
    const next = extraStart + extraLength + commentLength;
    if (next > directory.length) {
      throw invalidZip(archiveName, `central directory header ${index + 1} is truncated`);
    }
    const name = decodeEntryName(directory, flags, nameStart, extraStart);

    if (
      compressedSize === UINT32_SENTINEL ||
      uncompressedSize === UINT32_SENTINEL ||
      localHeaderOffset === UINT32_SENTINEL ||
      diskStart === UINT16_SENTINEL
    ) {
      const zip64 = findExtraField(directory.subarray(extraStart, extraStart + extraLength));
      let cursor = 0;
      const take = (): number => {
        const value =
          zip64 !== undefined && cursor + 8 <= zip64.length ? readUInt64(zip64, cursor) : null;
        if (value === null) {
          throw invalidZip(archiveName, `entry "${name}" has a missing or corrupt Zip64 field`);
        }
        cursor += 8;
        return value;
      };
      if (uncompressedSize === UINT32_SENTINEL) uncompressedSize = take();
      if (compressedSize === UINT32_SENTINEL) compressedSize = take();
      if (localHeaderOffset === UINT32_SENTINEL) localHeaderOffset = take();
      if (diskStart === UINT16_SENTINEL) {
        if (zip64 === undefined || cursor + 4 > zip64.length) {
          throw invalidZip(archiveName, `entry "${name}" has a missing or corrupt Zip64 field`);
        }
        diskStart = zip64.readUInt32LE(cursor);
      }
    }
    if (diskStart !== 0) throw unsupported(archiveName, "it is split over several disks");
    if (localHeaderOffset + LOCAL_HEADER_LENGTH > centralDirectoryOffset) {
      throw invalidZip(
        archiveName,
        `entry "${name}" points past the start of the central directory`,
      );
    }

    const unixAttributes = externalAttributes >>> 16;
    const unixMode =
      versionMadeBy >>> 8 === HOST_UNIX && unixAttributes !== 0 ? unixAttributes : undefined;
    const fileType = unixMode === undefined ? 0 : unixMode & S_IFMT;
    entries.push({
      name,
      method,
      crc32: crc,
      compressedSize,
      uncompressedSize,
      localHeaderOffset,
      flags,
      versionMadeBy,
      externalAttributes,
      unixMode,
      isDirectory: name.endsWith("/") || fileType === S_IFDIR,
      isSymlink: fileType === S_IFLNK,
    });
    position = next;
  }
  return entries;
}

/** The data of the Zip64 extended information field among `extra`'s fields, if present. */
function findExtraField(extra: Buffer): Buffer | undefined {
  let position = 0;
  while (position + 4 <= extra.length) {
    const id = extra.readUInt16LE(position);
    const size = extra.readUInt16LE(position + 2);
    const dataStart = position + 4;
    if (dataStart + size > extra.length) return undefined;
    if (id === ZIP64_EXTRA_FIELD_ID) return extra.subarray(dataStart, dataStart + size);
    position = dataStart + size;
  }
  return undefined;
}

/** Bytes read beyond an entry's expected end, so a local extra field longer than the central one still fits in one read. */
const LOCAL_EXTRA_ALLOWANCE = 1024;

/**
 * The byte range (`end` exclusive) that holds an entry's local header and data in nearly
 * every archive. `entryDataFromRecord` says if it was not enough.
 */
export function entryRecordRange(
  entry: ZipEntry,
  archiveSize: number,
): { start: number; end: number } {
  const start = entry.localHeaderOffset;
  const expected =
    LOCAL_HEADER_LENGTH +
    Buffer.byteLength(entry.name) +
    entry.compressedSize +
    LOCAL_EXTRA_ALLOWANCE;
  return { start, end: Math.min(archiveSize, start + expected) };
}

/**
 * Where an entry's data starts in `record`, bytes of the archive starting at the entry's
 * local header, after checking the header's signature and name; or `{ needLength }` when
 * `record` is too short to hold the whole header.
 */
export function localDataOffset(
  record: Buffer,
  entry: ZipEntry,
  archiveName = "zip archive",
): number | { needLength: number } {
  if (record.length < LOCAL_HEADER_LENGTH) return { needLength: LOCAL_HEADER_LENGTH };
  if (record.readUInt32LE(0) !== LOCAL_HEADER_SIGNATURE) {
    throw corruptEntry(archiveName, entry, "its local header is missing");
  }
  const nameLength = record.readUInt16LE(26);
  const extraLength = record.readUInt16LE(28);
  const dataStart = LOCAL_HEADER_LENGTH + nameLength + extraLength;
  if (record.length < dataStart) return { needLength: dataStart };
  const localName = decodeEntryName(
    record,
    entry.flags,
    LOCAL_HEADER_LENGTH,
    LOCAL_HEADER_LENGTH + nameLength,
  );
  if (localName !== entry.name) {
    throw corruptEntry(archiveName, entry, `its local header names "${localName}"`);
  }
  return dataStart;
}

/**
 * An entry's compressed data found in `record`, bytes of the archive starting at the
 * entry's local header; or `{ needLength }` when `record` must be that long to hold it.
 */
export function entryDataFromRecord(
  record: Buffer,
  entry: ZipEntry,
  archiveName = "zip archive",
): Buffer | { needLength: number } {
  const dataStart = localDataOffset(record, entry, archiveName);
  if (typeof dataStart !== "number")
    return { needLength: dataStart.needLength + entry.compressedSize };
  const dataEnd = dataStart + entry.compressedSize;
  if (record.length < dataEnd) return { needLength: dataEnd };
  return record.subarray(dataStart, dataEnd);
}

/** Throws `unsupported-zip-feature` for encrypted entries and methods other than stored/deflated. */
export function assertReadableEntry(entry: ZipEntry, archiveName: string): void {
  if (
    (entry.flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_ENCRYPTED_CENTRAL_DIRECTORY)) !==
    0
  ) {
    throw unsupported(archiveName, `entry "${entry.name}" is encrypted`);
  }
  if (entry.method !== METHOD_STORED && entry.method !== METHOD_DEFLATED) {
    throw unsupported(
      archiveName,
      `entry "${entry.name}" uses compression method ${entry.method} (only stored and deflated are supported)`,
    );
  }
}

/**
 * Inflates (when deflated) the compressed bytes of `entry` and checks their length and
 * CRC-32 against the central directory. Throws `corrupt-zip` naming archive and entry.
 */
export function decodeEntryData(raw: Buffer, entry: ZipEntry, archiveName = "zip archive"): Buffer {
  assertReadableEntry(entry, archiveName);
  if (entry.uncompressedSize > bufferConstants.MAX_LENGTH) {
    throw unsupported(archiveName, `entry "${entry.name}" is too large to read into memory`);
  }
  let data: Buffer;
  if (entry.method === METHOD_STORED) {
    data = raw;
  } else {
    try {
      data = inflateRawSync(raw, inflateOptions(entry));
    } catch (error) {
      throw corruptEntry(archiveName, entry, "its deflate stream is invalid", error);
    }
  }
  return verifyEntryData(data, entry, archiveName);
}

/**
 * zlib options for inflating `entry` whole. One byte of headroom lets an over-long stream
 * show up as a length mismatch. The output chunk is the whole entry (up to
 * MAX_INFLATE_CHUNK): zlib's default of 16 KiB costs a round trip through JavaScript (and,
 * inflating asynchronously, through the thread pool) per 16 KiB, which is most of the time
 * it takes to inflate a wheel.
 */
function inflateOptions(entry: ZipEntry): { maxOutputLength: number; chunkSize: number } {
  const length = Math.max(1, entry.uncompressedSize + 1);
  return {
    maxOutputLength: length,
    chunkSize: Math.max(zlibConstants.Z_MIN_CHUNK, Math.min(length, MAX_INFLATE_CHUNK)),
  };
}

/** The largest output chunk of a whole-entry inflate (see `inflateOptions`). */
const MAX_INFLATE_CHUNK = 8 * 1024 * 1024;

/**
 * About how many bytes `ZipReader.read(entry)` (`whole`) or `ZipReader.verify(entry)` holds
 * at once: a read holds the contents and the compressed bytes (a large entry a chunk of
 * them besides its contents: deflated ones are inflated in chunks); a verify at most a
 * chunk of each.
 */
export function readFootprint(entry: ZipEntry, whole: boolean): number {
  const chunks = 2 * STREAM_CHUNK;
  const size = entry.uncompressedSize + entry.compressedSize;
  if (!whole) return Math.min(size, chunks);
  return entry.uncompressedSize > MAX_INFLATE_CHUNK ? entry.uncompressedSize + chunks : size;
}

/** Checks inflated bytes against the length and CRC-32 the central directory records. */
function verifyEntryData(data: Buffer, entry: ZipEntry, archiveName: string): Buffer {
  if (data.length !== entry.uncompressedSize) {
    throw corruptEntry(
      archiveName,
      entry,
      `it holds ${data.length} bytes, not the ${entry.uncompressedSize} the directory records`,
    );
  }
  if (crc32(data) >>> 0 !== entry.crc32 >>> 0) {
    throw corruptEntry(archiveName, entry, "its CRC-32 does not match");
  }
  return data;
}

const inflateRawAsync = promisify(inflateRaw);

/**
 * Deflated entries at least this large are inflated on libuv's thread pool, so that
 * several of them (the shared libraries of a layer) inflate in parallel; smaller ones
 * inflate synchronously, which costs less than the hand-off.
 */
const ASYNC_INFLATE_THRESHOLD = 64 * 1024;

export class ZipReader {
  /** Names the archive in error messages (a path, file name or redacted URL). */
  readonly name: string;
  readonly size: number;
  readonly entries: readonly ZipEntry[];
  readonly centralDirectoryOffset: number;
  /** The archive comment (pylayer keeps its layer manifest there). */
  readonly comment: string;
  private readonly source: RandomAccessSource;
  private readonly entriesByName: Map<string, ZipEntry>;

  private constructor(source: RandomAccessSource, name: string, directory: CentralDirectory) {
    this.source = source;
    this.name = name;
    this.size = source.size;
    this.entries = directory.entries;
    this.centralDirectoryOffset = directory.centralDirectoryOffset;
    this.comment = directory.comment;
    this.entriesByName = new Map();
    // Like Python's zipfile, a repeated name resolves to its last entry.
    for (const entry of directory.entries) this.entriesByName.set(entry.name, entry);
  }

  /**
   * Opens a file, reading only its end records and central directory. With `sequential`
   * (for callers that read every entry in order: the check), small reads are served from
   * read-ahead blocks of SEQUENTIAL_BLOCK bytes (at most two held), so reading a wheel of
   * thousands of entries costs a read per block rather than one per entry.
   */
  static async open(path: string, options: { sequential?: boolean } = {}): Promise<ZipReader> {
    let handle: RandomAccessFile;
    try {
      handle = await openFile(path, "r");
    } catch (error) {
      throw new PylayerError("invalid-zip", `cannot open zip archive ${path}`, {
        cause: error,
        hint: "Check that the file exists and is readable.",
      });
    }
    try {
      const { size } = await handle.stat();
      const readExactly = async (offset: number, length: number) => {
        const buffer = Buffer.allocUnsafe(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
          if (bytesRead === 0) throw invalidZip(path, "it was truncated while being read");
          filled += bytesRead;
        }
        return buffer;
      };
      const source: RandomAccessSource = {
        size,
        read: options.sequential ? readAhead(size, readExactly) : readExactly,
        close: () => handle.close(),
      };
      return await ZipReader.fromSource(source, path);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Reads an archive held in memory. */
  static fromBuffer(buffer: Buffer, name = "zip archive"): ZipReader {
    const result = parseCentralDirectoryFromTail(buffer, buffer.length, name);
    // The whole file is the tail, so the parser never asks for more.
    if (result.kind !== "complete") throw invalidZip(name, "its end records are inconsistent");
    return new ZipReader(bufferSource(buffer), name, result.directory);
  }

  /** Reads an archive through `source`, starting with its last 64 KiB. */
  static async fromSource(source: RandomAccessSource, name = "zip archive"): Promise<ZipReader> {
    let tailLength = Math.min(INITIAL_TAIL_LENGTH, source.size);
    for (;;) {
      const tail = await source.read(source.size - tailLength, tailLength);
      const result = parseCentralDirectoryFromTail(tail, source.size, name);
      if (result.kind === "complete") return new ZipReader(source, name, result.directory);
      if (result.tailLength <= tailLength)
        throw invalidZip(name, "its end records are inconsistent");
      tailLength = result.tailLength;
    }
  }

  getEntry(name: string): ZipEntry | undefined {
    return this.entriesByName.get(name);
  }

  /** The compressed bytes exactly as stored after the entry's local header. */
  async readRaw(entry: ZipEntry): Promise<Buffer> {
    assertReadableEntry(entry, this.name);
    if (entry.compressedSize > bufferConstants.MAX_LENGTH) {
      throw unsupported(this.name, `entry "${entry.name}" is too large to read into memory`);
    }
    const range = entryRecordRange(entry, this.size);
    let record = await this.source.read(range.start, range.end - range.start);
    let data = entryDataFromRecord(record, entry, this.name);
    if (!Buffer.isBuffer(data)) {
      if (range.start + data.needLength > this.size) {
        throw corruptEntry(this.name, entry, "its data runs past the end of the archive");
      }
      record = await this.source.read(range.start, data.needLength);
      data = entryDataFromRecord(record, entry, this.name);
      if (!Buffer.isBuffer(data)) throw corruptEntry(this.name, entry, "its local header moved");
    }
    return data;
  }

  /**
   * The entry's contents, inflated and CRC-32 checked. A deflated entry larger than
   * MAX_INFLATE_CHUNK is inflated chunk by chunk into one buffer of its size, so that
   * reading it holds its contents once (not the zlib chunks and their concatenation too).
   */
  async read(entry: ZipEntry): Promise<Buffer> {
    if (entry.method === METHOD_DEFLATED && entry.uncompressedSize > MAX_INFLATE_CHUNK) {
      if (entry.uncompressedSize > bufferConstants.MAX_LENGTH) {
        throw unsupported(this.name, `entry "${entry.name}" is too large to read into memory`);
      }
      assertReadableEntry(entry, this.name);
      const contents = Buffer.allocUnsafe(entry.uncompressedSize);
      let length = 0;
      await this.stream(entry, (chunk) => {
        chunk.copy(contents, length);
        length += chunk.length;
      });
      return verifyEntryData(contents, entry, this.name);
    }
    const raw = await this.readRaw(entry);
    if (entry.method !== METHOD_DEFLATED || entry.uncompressedSize < ASYNC_INFLATE_THRESHOLD) {
      return decodeEntryData(raw, entry, this.name);
    }
    let data: Buffer;
    try {
      data = await inflateRawAsync(raw, inflateOptions(entry));
    } catch (error) {
      throw corruptEntry(this.name, entry, "its deflate stream is invalid", error);
    }
    return verifyEntryData(data, entry, this.name);
  }

  /**
   * Checks the entry's length and CRC-32 as `read` does, but chunk by chunk (at most
   * STREAM_CHUNK compressed bytes and what they inflate to in memory at once), so that
   * verifying a large shared library does not hold it whole. Returns the first
   * `headLength` bytes of the contents (file-type sniffing). Throws `corrupt-zip` as `read`.
   */
  async verify(entry: ZipEntry, headLength = 4096): Promise<Buffer> {
    if (entry.uncompressedSize <= STREAM_CHUNK) {
      const data = await this.read(entry);
      return data.subarray(0, headLength);
    }
    assertReadableEntry(entry, this.name);
    const head: Buffer[] = [];
    let headBytes = 0;
    let checksum = 0;
    await this.stream(entry, (chunk) => {
      if (headBytes < headLength) {
        head.push(chunk.subarray(0, headLength - headBytes));
        headBytes += Math.min(chunk.length, headLength - headBytes);
      }
      checksum = crc32(chunk, checksum);
    });
    if (checksum >>> 0 !== entry.crc32 >>> 0) {
      throw corruptEntry(this.name, entry, "its CRC-32 does not match");
    }
    return Buffer.concat(head);
  }

  /**
   * `verify` for many entries: for each entry in order, the first `headLength` bytes of its
   * contents, or the `corrupt-zip` (or `unsupported-zip-feature`) error that `verify` of
   * that entry alone throws. Deflated entries up to STREAM_CHUNK are inflated together, up
   * to BATCH_OUTPUT bytes at a time: each becomes one member of a gzip stream (RFC 1952)
   * whose trailer holds the CRC-32 and length the directory records, so zlib checks both
   * in one call instead of one zlib context and one CRC pass per entry (most wheel entries
   * are a few KiB). A batch that fails is verified entry by entry, which names the damage.
   */
  async verifyEach(
    entries: readonly ZipEntry[],
    headLength: number,
  ): Promise<(Buffer | PylayerError)[]> {
    const results: (Buffer | PylayerError)[] = new Array(entries.length);
    // Any other error (a fault of pylayer, not of the zip) is thrown once every entry in
    // flight has settled, so that nothing reads the zip after this returns.
    let failure: { reason: unknown } | undefined;
    const alone = async (index: number) => {
      try {
        results[index] = await this.verify(entries[index]!, headLength);
      } catch (error) {
        if (error instanceof PylayerError) results[index] = error;
        else failure ??= { reason: error };
      }
    };
    const large = new ReadBudget(LARGE_IN_FLIGHT);
    const verifyingAlone: Promise<void>[] = [];
    let batch: { index: number; raw: Buffer }[] = [];
    let batchOutput = 0;
    const flush = async () => {
      const members = batch;
      const output = batchOutput;
      batch = [];
      batchOutput = 0;
      if (members.length === 0) return;
      const inflated = inflateMembers(members, entries, output);
      if (inflated === null) {
        for (const { index } of members) await alone(index);
        return;
      }
      let offset = 0;
      for (const { index } of members) {
        const length = entries[index]!.uncompressedSize;
        // A copy: the batch's contents are overwritten by the next batch.
        results[index] = Buffer.from(
          inflated.subarray(offset, offset + Math.min(length, headLength)),
        );
        offset += length;
      }
    };
    for (const [index, entry] of entries.entries()) {
      const batchable =
        entry.method === METHOD_DEFLATED &&
        entry.uncompressedSize <= STREAM_CHUNK &&
        entry.compressedSize <= STREAM_CHUNK;
      if (!batchable) {
        // Verified in chunks, a few at once (large ones inflate on libuv's pool).
        await large.acquire(1);
        verifyingAlone.push(alone(index).finally(() => large.release(1)));
        continue;
      }
      if (batch.length > 0 && batchOutput + entry.uncompressedSize > BATCH_OUTPUT) await flush();
      let raw: Buffer;
      try {
        // Throws `unsupported-zip-feature` for an encrypted entry, as `verify` does.
        raw = await this.readRaw(entry);
      } catch (error) {
        if (error instanceof PylayerError) {
          results[index] = error;
          continue;
        }
        failure ??= { reason: error };
        break;
      }
      batch.push({ index, raw });
      batchOutput += entry.uncompressedSize;
    }
    await flush();
    await Promise.all(verifyingAlone);
    if (failure !== undefined) throw failure.reason;
    return results;
  }

  /**
   * Hands `consume` the entry's contents in order, at most STREAM_CHUNK compressed bytes
   * and what they inflate to at once; throws `corrupt-zip` when the contents are longer or
   * shorter than the directory records (before `consume` sees a byte too many).
   */
  private async stream(entry: ZipEntry, consume: (chunk: Buffer) => void): Promise<void> {
    const range = entryRecordRange(entry, this.size);
    const headerLength = Math.min(range.end - range.start, LOCAL_HEADER_LENGTH + 65_535 * 2);
    const dataStart = localDataOffset(
      await this.source.read(range.start, Math.min(headerLength, this.size - range.start)),
      entry,
      this.name,
    );
    if (typeof dataStart !== "number") {
      throw corruptEntry(this.name, entry, "its local header runs past the end of the archive");
    }
    const start = range.start + dataStart;
    if (start + entry.compressedSize > this.size) {
      throw corruptEntry(this.name, entry, "its data runs past the end of the archive");
    }
    let length = 0;
    const take = (chunk: Buffer) => {
      if (length + chunk.length > entry.uncompressedSize) {
        throw corruptEntry(
          this.name,
          entry,
          `it holds more than the ${entry.uncompressedSize} bytes the directory records`,
        );
      }
      length += chunk.length;
      consume(chunk);
    };
    const source = this.source;
    async function* compressed() {
      for (let offset = 0; offset < entry.compressedSize; offset += STREAM_CHUNK) {
        yield await source.read(
          start + offset,
          Math.min(STREAM_CHUNK, entry.compressedSize - offset),
        );
      }
    }
    if (entry.method === METHOD_STORED) {
      for await (const chunk of compressed()) take(chunk);
    } else {
      try {
        const inflate = createInflateRaw({ chunkSize: STREAM_CHUNK });
        await pipeline(Readable.from(compressed()), inflate, async (inflated) => {
          for await (const chunk of inflated) take(chunk as Buffer);
        });
      } catch (error) {
        if (error instanceof PylayerError) throw error;
        throw corruptEntry(this.name, entry, "its deflate stream is invalid", error);
      }
    }
    if (length !== entry.uncompressedSize) {
      throw corruptEntry(
        this.name,
        entry,
        `it holds ${length} bytes, not the ${entry.uncompressedSize} the directory records`,
      );
    }
  }

  async close(): Promise<void> {
    await this.source.close?.();
  }
}

/** Entries larger than this are verified in chunks of this size (`ZipReader.verify`). */
const STREAM_CHUNK = 1024 * 1024;

/** The most bytes one `verifyEach` batch inflates to (larger batches measured slower). */
const BATCH_OUTPUT = 1024 * 1024;

/** Entries `verifyEach` verifies alone at once (each holds a chunk of each side). */
const LARGE_IN_FLIGHT = 4;

/** A gzip member header (RFC 1952): deflate, no flags, no time, unknown OS. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/**
 * Inflates the raw deflate streams of `members` as one multi-member gzip stream whose
 * trailers carry each entry's CRC-32 and length; the concatenated contents (valid until the
 * next batch is inflated: see gunzip-members.ts), or null when any member does not inflate
 * to what its entry records (zlib checks each trailer; the total length catches a stream
 * that ends early or late).
 */
function inflateMembers(
  members: readonly { index: number; raw: Buffer }[],
  entries: readonly ZipEntry[],
  output: number,
): Buffer | null {
  const parts: Buffer[] = [];
  for (const { index, raw } of members) {
    const entry = entries[index]!;
    const trailer = Buffer.allocUnsafe(8);
    trailer.writeUInt32LE(entry.crc32 >>> 0, 0);
    trailer.writeUInt32LE(entry.uncompressedSize >>> 0, 4);
    parts.push(GZIP_HEADER, raw, trailer);
  }
  return gunzipMembers(parts, output);
}

/** Read-ahead block size of `ZipReader.open(path, { sequential: true })`. */
const SEQUENTIAL_BLOCK = 256 * 1024;

/**
 * Serves reads shorter than a block from blocks read ahead from the requested offset (the
 * two most recent kept, shared by concurrent readers of the same range); longer reads go
 * straight to `readExactly`. Blocks never extend past `size`.
 */
function readAhead(
  size: number,
  readExactly: (offset: number, length: number) => Promise<Buffer>,
): RandomAccessSource["read"] {
  let blocks: { start: number; end: number; data: Promise<Buffer> }[] = [];
  return async (offset, length) => {
    if (length >= SEQUENTIAL_BLOCK) return readExactly(offset, length);
    const end = offset + length;
    let block = blocks.find((candidate) => candidate.start <= offset && end <= candidate.end);
    if (block === undefined) {
      const blockEnd = Math.min(size, offset + SEQUENTIAL_BLOCK);
      block = { start: offset, end: blockEnd, data: readExactly(offset, blockEnd - offset) };
      blocks = [block, ...blocks.slice(0, 1)];
    }
    const data = await block.data.catch((error: unknown) => {
      blocks = blocks.filter((candidate) => candidate !== block);
      throw error;
    });
    return data.subarray(offset - block.start, end - block.start);
  };
}

/** A source over bytes already in memory. */
export function bufferSource(buffer: Buffer): RandomAccessSource {
  return {
    size: buffer.length,
    read: async (offset, length) => {
      if (offset < 0 || offset + length > buffer.length) {
        throw new RangeError("read past the end of the buffer");
      }
      return buffer.subarray(offset, offset + length);
    },
  };
}

function invalidZip(archiveName: string, reason: string): PylayerError {
  return new PylayerError(
    "invalid-zip",
    `${archiveName} is not a readable zip archive: ${reason}`,
    {
      hint: "The file may be truncated or not a zip file; download it again.",
    },
  );
}

function unsupported(archiveName: string, reason: string): PylayerError {
  return new PylayerError("unsupported-zip-feature", `cannot read ${archiveName}: ${reason}`, {
    hint: "pylayer reads unencrypted, single-disk zip archives with stored or deflated entries.",
  });
}

function corruptEntry(
  archiveName: string,
  entry: ZipEntry,
  reason: string,
  cause?: unknown,
): PylayerError {
  return new PylayerError(
    "corrupt-zip",
    `entry "${entry.name}" of ${archiveName} is corrupt: ${reason}`,
    { hint: "Download the file again; if it persists, the archive itself is damaged.", cause },
  );
}
