/**
 * Reads a wheel's `.dist-info/METADATA` through random access, so that over HTTP
 * only the zip tail, the central directory and one entry are fetched.
 *
 * SEAM: this file holds a minimal zip reader (end of central directory, zip64,
 * central directory entries, one local entry). When src/zip's ZipReader lands,
 * `readWheelMetadata` keeps its signature and delegates to it; `RangeReader` is the
 * interface the two sides share.
 */
import { open } from "node:fs/promises";
import { crc32, inflateRawSync } from "node:zlib";
import { PylayerError } from "../errors.js";
import { normalizeProjectName, wheelNameAndVersion } from "./names.js";

/** Random access to a file of known size (a local file, or HTTP Range requests). */
export interface RangeReader {
  readonly size: number;
  /** Exactly `length` bytes starting at `offset` (the caller keeps within `size`). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** The end of central directory record (22 bytes) plus the longest possible comment. */
export const ZIP_TAIL_LENGTH = 22 + 0xffff;
/** METADATA larger than this is refused (a zip bomb, not a wheel). */
const MAX_METADATA_BYTES = 64 * 1024 * 1024;

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

interface CentralEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

/** Serves reads that fall inside a known suffix of the file from memory. */
export function withKnownTail(reader: RangeReader, tail: Uint8Array): RangeReader {
  const tailStart = reader.size - tail.length;
  return {
    size: reader.size,
    async read(offset, length) {
      if (offset >= tailStart)
        return tail.subarray(offset - tailStart, offset - tailStart + length);
      return reader.read(offset, length);
    },
  };
}

/** A RangeReader over a local file. Call `close` when done. */
export async function openFileRangeReader(
  path: string,
): Promise<RangeReader & { close(): Promise<void> }> {
  const handle = await open(path, "r");
  const { size } = await handle.stat();
  return {
    size,
    async read(offset, length) {
      const buffer = new Uint8Array(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return buffer.subarray(0, filled);
    },
    close: () => handle.close(),
  };
}

function invalid(filename: string, reason: string): PylayerError {
  return new PylayerError("wheel-invalid", `${filename} is not a valid wheel: ${reason}.`, {
    hint: "The file may be truncated or not a zip; delete it from the cache or report it to the index owner.",
  });
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function readUint64(data: DataView, offset: number): number {
  const value = data.getBigUint64(offset, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError("zip64 value too large");
  return Number(value);
}

async function readCentralDirectory(
  reader: RangeReader,
  filename: string,
): Promise<CentralEntry[]> {
  const tailLength = Math.min(reader.size, ZIP_TAIL_LENGTH);
  const tailStart = reader.size - tailLength;
  const tail = await reader.read(tailStart, tailLength);
  const tailView = view(tail);
  let eocd = -1;
  for (let position = tail.length - 22; position >= 0; position--) {
    if (tailView.getUint32(position, true) === EOCD_SIGNATURE) {
      eocd = position;
      break;
    }
  }
  if (eocd < 0) throw invalid(filename, "no end of central directory record");
  let entryCount = tailView.getUint16(eocd + 10, true);
  let directorySize = tailView.getUint32(eocd + 12, true);
  let directoryOffset = tailView.getUint32(eocd + 16, true);
  const needsZip64 =
    entryCount === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff;
  if (needsZip64) {
    const locatorAbsolute = tailStart + eocd - 20;
    if (locatorAbsolute < 0) throw invalid(filename, "zip64 locator missing");
    const locator = view(await reader.read(locatorAbsolute, 20));
    if (locator.getUint32(0, true) !== ZIP64_LOCATOR_SIGNATURE) {
      throw invalid(filename, "zip64 locator missing");
    }
    const zip64Offset = readUint64(locator, 8);
    const record = view(await reader.read(zip64Offset, 56));
    if (record.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) {
      throw invalid(filename, "zip64 end of central directory missing");
    }
    entryCount = readUint64(record, 32);
    directorySize = readUint64(record, 40);
    directoryOffset = readUint64(record, 48);
  }
  if (directoryOffset + directorySize > reader.size) {
    throw invalid(filename, "central directory beyond the end of the file");
  }
  const directory = await reader.read(directoryOffset, directorySize);
  const data = view(directory);
  const decoder = new TextDecoder();
  const entries: CentralEntry[] = [];
  let position = 0;
  for (let index = 0; index < entryCount; index++) {
    if (position + 46 > directory.length || data.getUint32(position, true) !== CENTRAL_SIGNATURE) {
      throw invalid(filename, "damaged central directory");
    }
    const nameLength = data.getUint16(position + 28, true);
    const extraLength = data.getUint16(position + 30, true);
    const commentLength = data.getUint16(position + 32, true);
    const entry: CentralEntry = {
      method: data.getUint16(position + 10, true),
      crc: data.getUint32(position + 16, true),
      compressedSize: data.getUint32(position + 20, true),
      uncompressedSize: data.getUint32(position + 24, true),
      localHeaderOffset: data.getUint32(position + 42, true),
      name: decoder.decode(directory.subarray(position + 46, position + 46 + nameLength)),
    };
    // Zip64 extended information: only the fields whose 32-bit value is 0xFFFFFFFF, in order.
    let extra = position + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = data.getUint16(extra, true);
      const size = data.getUint16(extra + 2, true);
      if (id === 0x0001) {
        let field = extra + 4;
        if (entry.uncompressedSize === 0xffffffff) {
          entry.uncompressedSize = readUint64(data, field);
          field += 8;
        }
        if (entry.compressedSize === 0xffffffff) {
          entry.compressedSize = readUint64(data, field);
          field += 8;
        }
        if (entry.localHeaderOffset === 0xffffffff)
          entry.localHeaderOffset = readUint64(data, field);
      }
      extra += 4 + size;
    }
    entries.push(entry);
    position += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The `<name>-<version>.dist-info/METADATA` entry that belongs to this wheel. */
function findMetadataEntry(entries: CentralEntry[], filename: string): CentralEntry {
  const candidates = entries.filter((entry) => /^[^/]+\.dist-info\/METADATA$/.test(entry.name));
  if (candidates.length === 1) return candidates[0]!;
  const expected = wheelNameAndVersion(filename);
  const matching = candidates.filter((entry) => {
    const folder = entry.name.slice(0, entry.name.indexOf(".dist-info/"));
    const dash = folder.lastIndexOf("-");
    return (
      expected !== null &&
      dash > 0 &&
      normalizeProjectName(folder.slice(0, dash)) === expected.name &&
      folder.slice(dash + 1) === expected.version
    );
  });
  if (matching.length === 1) return matching[0]!;
  throw invalid(
    filename,
    candidates.length === 0
      ? "no .dist-info/METADATA entry"
      : "several .dist-info folders and none matches the filename",
  );
}

/** METADATA text of the wheel behind `reader`. `filename` names the wheel in errors. */
export async function readWheelMetadata(reader: RangeReader, filename: string): Promise<string> {
  let entries: CentralEntry[];
  try {
    entries = await readCentralDirectory(reader, filename);
  } catch (error) {
    if (error instanceof RangeError) throw invalid(filename, "damaged zip records");
    throw error;
  }
  const entry = findMetadataEntry(entries, filename);
  if (entry.uncompressedSize > MAX_METADATA_BYTES || entry.compressedSize > MAX_METADATA_BYTES) {
    throw invalid(filename, "METADATA is implausibly large");
  }
  // The local header's name and extra field may differ in length from the central
  // copies; read a generous window and a second time only if it was too short.
  const nameBytes = new TextEncoder().encode(entry.name).length;
  let windowLength = Math.min(
    30 + nameBytes + 1024 + entry.compressedSize,
    reader.size - entry.localHeaderOffset,
  );
  let window = await reader.read(entry.localHeaderOffset, windowLength);
  const header = view(window);
  if (window.length < 30 || header.getUint32(0, true) !== LOCAL_SIGNATURE) {
    throw invalid(filename, "damaged local header for METADATA");
  }
  const dataStart = 30 + header.getUint16(26, true) + header.getUint16(28, true);
  const dataEnd = dataStart + entry.compressedSize;
  if (dataEnd > window.length) {
    windowLength = dataEnd;
    if (entry.localHeaderOffset + windowLength > reader.size) {
      throw invalid(filename, "METADATA runs past the end of the file");
    }
    window = await reader.read(entry.localHeaderOffset, windowLength);
  }
  const compressed = window.subarray(dataStart, dataEnd);
  let content: Uint8Array;
  if (entry.method === 0) content = compressed;
  else if (entry.method === 8) {
    try {
      content = inflateRawSync(compressed, { maxOutputLength: MAX_METADATA_BYTES });
    } catch {
      throw invalid(filename, "METADATA does not inflate");
    }
  } else throw invalid(filename, `METADATA uses unsupported compression method ${entry.method}`);
  if (content.length !== entry.uncompressedSize || crc32(content) !== entry.crc) {
    throw invalid(filename, "METADATA fails its CRC-32 check");
  }
  return new TextDecoder().decode(content);
}
