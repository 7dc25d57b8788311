/**
 * Zip record layouts (PKWARE APPNOTE.TXT 6.3.x: sections 4.3.7 local file header,
 * 4.3.12 central directory header, 4.3.14–4.3.16 Zip64 end records and end of central
 * directory record, 4.5.3 Zip64 extended information extra field) and their encoders.
 *
 * The reader and writer share these so that one unit test of the encodings (with offsets
 * and sizes past 4 GiB) covers both directions.
 */

export const LOCAL_HEADER_SIGNATURE = 0x04034b50;
export const CENTRAL_HEADER_SIGNATURE = 0x02014b50;
export const END_OF_CENTRAL_DIRECTORY_SIGNATURE = 0x06054b50;
export const ZIP64_END_OF_CENTRAL_DIRECTORY_SIGNATURE = 0x06064b50;
export const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;

export const LOCAL_HEADER_LENGTH = 30;
export const CENTRAL_HEADER_LENGTH = 46;
export const END_OF_CENTRAL_DIRECTORY_LENGTH = 22;
export const ZIP64_END_OF_CENTRAL_DIRECTORY_LENGTH = 56;
export const ZIP64_LOCATOR_LENGTH = 20;
/** The end record plus the longest possible archive comment. */
export const MAX_END_OF_CENTRAL_DIRECTORY_SEARCH = END_OF_CENTRAL_DIRECTORY_LENGTH + 0xffff;

export const ZIP64_EXTRA_FIELD_ID = 0x0001;

export const METHOD_STORED = 0;
export const METHOD_DEFLATED = 8;

/** General purpose flag bits (APPNOTE 4.4.4). */
export const FLAG_ENCRYPTED = 0x0001;
export const FLAG_DATA_DESCRIPTOR = 0x0008;
export const FLAG_STRONG_ENCRYPTION = 0x0040;
export const FLAG_UTF8 = 0x0800;
export const FLAG_ENCRYPTED_CENTRAL_DIRECTORY = 0x2000;

/** 32-bit fields at this value defer to the Zip64 extra field; 16-bit counts at 0xffff do too. */
export const UINT32_SENTINEL = 0xffffffff;
export const UINT16_SENTINEL = 0xffff;

/** Host system "Unix" in the upper byte of version-made-by (APPNOTE 4.4.2). */
export const HOST_UNIX = 3;

/** POSIX file type bits, as stored in the upper 16 bits of the external attributes. */
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

export interface DosDateTime {
  date: number;
  time: number;
}

/**
 * The MS-DOS date and time of `moment`, read in UTC (a zip timestamp has no time zone;
 * using UTC keeps the bytes independent of the host's zone). DOS time has a two-second
 * resolution and covers 1980-01-01 to 2107-12-31; moments outside are clamped.
 */
export function toDosDateTime(moment: Date): DosDateTime {
  const milliseconds = moment.getTime();
  if (Number.isNaN(milliseconds)) throw new RangeError("invalid date for a zip timestamp");
  const earliest = Date.UTC(1980, 0, 1, 0, 0, 0);
  const latest = Date.UTC(2107, 11, 31, 23, 59, 58);
  const clamped = new Date(Math.min(Math.max(milliseconds, earliest), latest));
  const date =
    ((clamped.getUTCFullYear() - 1980) << 9) |
    ((clamped.getUTCMonth() + 1) << 5) |
    clamped.getUTCDate();
  const time =
    (clamped.getUTCHours() << 11) |
    (clamped.getUTCMinutes() << 5) |
    Math.floor(clamped.getUTCSeconds() / 2);
  return { date, time };
}

/** The fields the writer puts in both a local header and its central directory header. */
export interface EntryRecordFields {
  nameBytes: Buffer;
  flags: number;
  method: number;
  dosDateTime: DosDateTime;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
}

export interface CentralRecordFields extends EntryRecordFields {
  versionMadeBy: number;
  externalAttributes: number;
  localHeaderOffset: number;
}

/** Version needed to extract: 2.0 covers deflate and directories, 4.5 is Zip64. */
export const VERSION_NEEDED_DEFAULT = 20;
export const VERSION_NEEDED_ZIP64 = 45;

function needsZip64Value(value: number): boolean {
  return value >= UINT32_SENTINEL;
}

/**
 * A local file header. When either size needs Zip64, both 32-bit size fields hold the
 * sentinel and the extra field carries both sizes (APPNOTE 4.5.3 requires both in a local
 * header); otherwise there is no extra field at all.
 */
export function encodeLocalHeader(fields: EntryRecordFields): Buffer {
  const zip64 = needsZip64Value(fields.compressedSize) || needsZip64Value(fields.uncompressedSize);
  const extraLength = zip64 ? 4 + 16 : 0;
  // Every byte is written below, so the pooled, uninitialized allocation is safe.
  const header = Buffer.allocUnsafe(localHeaderLength(fields));
  putUInt32(header, LOCAL_HEADER_SIGNATURE, 0);
  header.writeUInt16LE(zip64 ? VERSION_NEEDED_ZIP64 : VERSION_NEEDED_DEFAULT, 4);
  header.writeUInt16LE(fields.flags, 6);
  header.writeUInt16LE(fields.method, 8);
  header.writeUInt16LE(fields.dosDateTime.time, 10);
  header.writeUInt16LE(fields.dosDateTime.date, 12);
  putUInt32(header, fields.crc32, 14);
  putUInt32(header, zip64 ? UINT32_SENTINEL : fields.compressedSize, 18);
  putUInt32(header, zip64 ? UINT32_SENTINEL : fields.uncompressedSize, 22);
  header.writeUInt16LE(fields.nameBytes.length, 26);
  header.writeUInt16LE(extraLength, 28);
  fields.nameBytes.copy(header, LOCAL_HEADER_LENGTH);
  if (zip64) {
    const extraStart = LOCAL_HEADER_LENGTH + fields.nameBytes.length;
    header.writeUInt16LE(ZIP64_EXTRA_FIELD_ID, extraStart);
    header.writeUInt16LE(16, extraStart + 2);
    writeUInt64(header, fields.uncompressedSize, extraStart + 4);
    writeUInt64(header, fields.compressedSize, extraStart + 12);
  }
  return header;
}

/** The length of `encodeLocalHeader(fields)`: its name, and the Zip64 field when a size needs it. */
export function localHeaderLength(
  fields: Pick<EntryRecordFields, "nameBytes" | "compressedSize" | "uncompressedSize">,
): number {
  const zip64 = needsZip64Value(fields.compressedSize) || needsZip64Value(fields.uncompressedSize);
  return LOCAL_HEADER_LENGTH + fields.nameBytes.length + (zip64 ? 4 + 16 : 0);
}

/**
 * A central directory header. The Zip64 extra field, when present, holds only the values
 * whose 32-bit fields overflowed, in the order uncompressed size, compressed size, local
 * header offset (APPNOTE 4.5.3).
 */
export function encodeCentralHeader(fields: CentralRecordFields): Buffer {
  // Every byte is written by writeCentralHeader, so the pooled, uninitialized allocation is safe.
  const header = Buffer.allocUnsafe(centralHeaderLength(fields));
  writeCentralHeader(header, 0, fields);
  return header;
}

/** Bytes `writeCentralHeader` writes for `fields`. */
export function centralHeaderLength(fields: CentralRecordFields): number {
  let zip64Count = 0;
  if (needsZip64Value(fields.uncompressedSize)) zip64Count++;
  if (needsZip64Value(fields.compressedSize)) zip64Count++;
  if (needsZip64Value(fields.localHeaderOffset)) zip64Count++;
  return (
    CENTRAL_HEADER_LENGTH + fields.nameBytes.length + (zip64Count === 0 ? 0 : 4 + 8 * zip64Count)
  );
}

/**
 * Writes the central directory header of `fields` into `target` at `offset` (every byte
 * of it, see `centralHeaderLength`) and returns the offset after it, so a whole central
 * directory can be written into one buffer.
 */
export function writeCentralHeader(
  target: Buffer,
  offset: number,
  fields: CentralRecordFields,
): number {
  const uncompressedOverflows = needsZip64Value(fields.uncompressedSize);
  const compressedOverflows = needsZip64Value(fields.compressedSize);
  const offsetOverflows = needsZip64Value(fields.localHeaderOffset);
  const zip64Count =
    Number(uncompressedOverflows) + Number(compressedOverflows) + Number(offsetOverflows);
  const extraLength = zip64Count === 0 ? 0 : 4 + 8 * zip64Count;
  putUInt32(target, CENTRAL_HEADER_SIGNATURE, offset);
  target.writeUInt16LE(fields.versionMadeBy, offset + 4);
  target.writeUInt16LE(zip64Count > 0 ? VERSION_NEEDED_ZIP64 : VERSION_NEEDED_DEFAULT, offset + 6);
  target.writeUInt16LE(fields.flags, offset + 8);
  target.writeUInt16LE(fields.method, offset + 10);
  target.writeUInt16LE(fields.dosDateTime.time, offset + 12);
  target.writeUInt16LE(fields.dosDateTime.date, offset + 14);
  putUInt32(target, fields.crc32, offset + 16);
  putUInt32(target, compressedOverflows ? UINT32_SENTINEL : fields.compressedSize, offset + 20);
  putUInt32(target, uncompressedOverflows ? UINT32_SENTINEL : fields.uncompressedSize, offset + 24);
  target.writeUInt16LE(fields.nameBytes.length, offset + 28);
  target.writeUInt16LE(extraLength, offset + 30);
  target.writeUInt16LE(0, offset + 32); // comment length
  target.writeUInt16LE(0, offset + 34); // disk number start
  target.writeUInt16LE(0, offset + 36); // internal attributes
  putUInt32(target, fields.externalAttributes, offset + 38);
  putUInt32(target, offsetOverflows ? UINT32_SENTINEL : fields.localHeaderOffset, offset + 42);
  fields.nameBytes.copy(target, offset + CENTRAL_HEADER_LENGTH);
  let position = offset + CENTRAL_HEADER_LENGTH + fields.nameBytes.length;
  if (zip64Count > 0) {
    target.writeUInt16LE(ZIP64_EXTRA_FIELD_ID, position);
    target.writeUInt16LE(8 * zip64Count, position + 2);
    position += 4;
    // APPNOTE 4.5.3 order: uncompressed size, compressed size, local header offset.
    for (const [overflows, value] of [
      [uncompressedOverflows, fields.uncompressedSize],
      [compressedOverflows, fields.compressedSize],
      [offsetOverflows, fields.localHeaderOffset],
    ] as const) {
      if (!overflows) continue;
      writeUInt64(target, value, position);
      position += 8;
    }
  }
  return position;
}

/**
 * Writes the low 32 bits of `value` little-endian. Unlike `writeUInt32LE` it stays on the
 * fast path for values of 2^31 and above (CRCs, Unix attributes), which are not small integers.
 */
function putUInt32(target: Buffer, value: number, offset: number): void {
  target[offset] = value & 0xff;
  target[offset + 1] = (value >>> 8) & 0xff;
  target[offset + 2] = (value >>> 16) & 0xff;
  target[offset + 3] = (value >>> 24) & 0xff;
}

export interface EndRecordFields {
  entryCount: number;
  centralDirectorySize: number;
  centralDirectoryOffset: number;
  /** Version made by, repeated in the Zip64 end record. */
  versionMadeBy: number;
  /** Archive comment bytes (at most 65,535). */
  comment?: Buffer;
}

/**
 * The records after the central directory: the Zip64 end record and its locator when the
 * entry count reaches 0xffff or the directory's size or offset reaches 0xffffffff, then the
 * classic end record (with sentinels in the overflowing fields) and the archive comment.
 */
export function encodeEndRecords(fields: EndRecordFields): Buffer {
  const countOverflows = fields.entryCount >= UINT16_SENTINEL;
  const sizeOverflows = needsZip64Value(fields.centralDirectorySize);
  const offsetOverflows = needsZip64Value(fields.centralDirectoryOffset);
  const zip64 = countOverflows || sizeOverflows || offsetOverflows;
  const parts: Buffer[] = [];
  if (zip64) {
    const zip64EndOffset = fields.centralDirectoryOffset + fields.centralDirectorySize;
    const record = Buffer.alloc(ZIP64_END_OF_CENTRAL_DIRECTORY_LENGTH);
    record.writeUInt32LE(ZIP64_END_OF_CENTRAL_DIRECTORY_SIGNATURE, 0);
    // Size of the remaining record: the whole fixed record minus signature and this field.
    writeUInt64(record, ZIP64_END_OF_CENTRAL_DIRECTORY_LENGTH - 12, 4);
    record.writeUInt16LE(fields.versionMadeBy, 12);
    record.writeUInt16LE(VERSION_NEEDED_ZIP64, 14);
    record.writeUInt32LE(0, 16); // this disk
    record.writeUInt32LE(0, 20); // disk with the central directory
    writeUInt64(record, fields.entryCount, 24);
    writeUInt64(record, fields.entryCount, 32);
    writeUInt64(record, fields.centralDirectorySize, 40);
    writeUInt64(record, fields.centralDirectoryOffset, 48);
    parts.push(record);
    const locator = Buffer.alloc(ZIP64_LOCATOR_LENGTH);
    locator.writeUInt32LE(ZIP64_LOCATOR_SIGNATURE, 0);
    locator.writeUInt32LE(0, 4); // disk with the Zip64 end record
    writeUInt64(locator, zip64EndOffset, 8);
    locator.writeUInt32LE(1, 16); // total number of disks
    parts.push(locator);
  }
  const end = Buffer.alloc(END_OF_CENTRAL_DIRECTORY_LENGTH);
  end.writeUInt32LE(END_OF_CENTRAL_DIRECTORY_SIGNATURE, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  const count = countOverflows ? UINT16_SENTINEL : fields.entryCount;
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(sizeOverflows ? UINT32_SENTINEL : fields.centralDirectorySize, 12);
  end.writeUInt32LE(offsetOverflows ? UINT32_SENTINEL : fields.centralDirectoryOffset, 16);
  const comment = fields.comment ?? Buffer.alloc(0);
  end.writeUInt16LE(comment.length, 20);
  parts.push(end, comment);
  return Buffer.concat(parts);
}

/** Writes an unsigned 64-bit little-endian integer (any safe JavaScript integer). */
export function writeUInt64(buffer: Buffer, value: number, offset: number): void {
  buffer.writeBigUInt64LE(BigInt(value), offset);
}

/** Reads an unsigned 64-bit little-endian integer; null when it exceeds 2^53 - 1. */
export function readUInt64(buffer: Buffer, offset: number): number | null {
  const value = buffer.readBigUInt64LE(offset);
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(value);
}

/** Code page 437 characters for bytes 0x80–0xff (the zip default when bit 11 is clear). */
const CP437_HIGH =
  "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0";

/**
 * Decodes an entry name: UTF-8 when flag bit 11 is set, else code page 437 as APPNOTE
 * appendix D says (the same rule Python's zipfile, and so pip, applies).
 */
export function decodeEntryName(
  bytes: Buffer,
  flags: number,
  start = 0,
  end = bytes.length,
): string {
  if ((flags & FLAG_UTF8) !== 0) return bytes.toString("utf8", start, end);
  let ascii = true;
  for (let index = start; index < end; index++) {
    if (bytes[index]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return bytes.toString("latin1", start, end);
  let text = "";
  for (let index = start; index < end; index++) {
    const byte = bytes[index]!;
    text += byte < 0x80 ? String.fromCharCode(byte) : CP437_HIGH[byte - 0x80];
  }
  return text;
}

export function isAscii(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    if (text.charCodeAt(index) >= 0x80) return false;
  }
  return true;
}
