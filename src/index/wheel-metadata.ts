/**
 * Reads a wheel's `.dist-info/METADATA` through random access, so that over HTTP only
 * the zip tail, the central directory and one entry are fetched. The zip work is
 * src/zip's `ZipReader` over a `RangeReader`; this module adds the byte sources.
 */
import { basename } from "node:path";
import { PylayerError } from "../errors.js";
import { openFile } from "../files.js";
import { readWheelMetadata as readMetadataFromZip } from "../wheel/index.js";
import { ZipReader } from "../zip/index.js";

/** Random access to a file of known size (a local file, or HTTP Range requests). */
export interface RangeReader {
  readonly size: number;
  /** Exactly `length` bytes starting at `offset` (the caller keeps within `size`). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** The end of central directory record (22 bytes) plus the longest possible comment. */
export const ZIP_TAIL_LENGTH = 22 + 0xffff;

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
  const handle = await openFile(path, "r");
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

/** The most bytes a METADATA entry may inflate to, and the error past it. */
export interface MetadataLimit {
  bytes: number;
  error: () => Error;
}

/**
 * METADATA text of the wheel behind `reader`. `filename` names the wheel in errors. An
 * entry whose recorded size is over `limit` is refused before it is read (and inflation
 * stops at the recorded size anyway).
 */
export async function readWheelMetadata(
  reader: RangeReader,
  filename: string,
  limit?: MetadataLimit,
): Promise<string> {
  const name = basename(filename);
  let zip: ZipReader;
  try {
    zip = await ZipReader.fromSource(
      {
        size: reader.size,
        read: async (offset, length) => {
          const bytes = await reader.read(offset, length);
          return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        },
      },
      name,
    );
  } catch (error) {
    if (error instanceof PylayerError) throw error;
    throw new PylayerError("invalid-zip", `${name} is not a valid wheel: ${String(error)}`, {
      hint: "The file may be truncated or not a zip; delete it from the cache or report it to the index owner.",
      cause: error,
    });
  }
  return (
    await readMetadataFromZip(
      zip,
      name,
      limit === undefined ? {} : { maxMetadataBytes: limit.bytes, tooLarge: limit.error },
    )
  ).metadata;
}
