/**
 * Writes small but well-formed ELF shared objects for tests (System V ABI layout, Linux
 * Standard Base symbol versioning), in either class and byte order, so the reader can be
 * tested on CPUs this machine's compiler does not target. Also the first bytes of Mach-O
 * and PE files (<mach-o/loader.h>, the PE Format's MS-DOS stub and COFF header).
 */

export interface ElfSpec {
  /** e_machine: 62 x86_64, 183 aarch64, 3 x86, 20 PowerPC, … */
  machine: number;
  elfClass?: 32 | 64;
  bigEndian?: boolean;
  /** e_type, default 3 (shared object). */
  type?: number;
  needed?: string[];
  soname?: string;
  rpath?: string;
  runpath?: string;
  versionNeeds?: { file: string; versions: string[] }[];
  interpreter?: string;
  /**
   * No program headers: the dynamic section, its strings and `.gnu.version_r` are found
   * through section headers only, and DT_VERNEED is left out of the dynamic section.
   */
  sectionsOnly?: boolean;
}

const BASE_ADDRESS = 0x10000;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;

class Writer {
  private readonly chunks: Buffer[] = [];
  length = 0;

  constructor(
    private readonly is64: boolean,
    private readonly bigEndian: boolean,
  ) {}

  bytes(data: Buffer): void {
    this.chunks.push(data);
    this.length += data.length;
  }

  u8(value: number): void {
    this.bytes(Buffer.from([value]));
  }

  u16(value: number): void {
    const buffer = Buffer.alloc(2);
    if (this.bigEndian) buffer.writeUInt16BE(value);
    else buffer.writeUInt16LE(value);
    this.bytes(buffer);
  }

  u32(value: number): void {
    const buffer = Buffer.alloc(4);
    if (this.bigEndian) buffer.writeUInt32BE(value >>> 0);
    else buffer.writeUInt32LE(value >>> 0);
    this.bytes(buffer);
  }

  u64(value: number): void {
    const buffer = Buffer.alloc(8);
    if (this.bigEndian) buffer.writeBigUInt64BE(BigInt(value));
    else buffer.writeBigUInt64LE(BigInt(value));
    this.bytes(buffer);
  }

  /** An address or offset: 8 bytes in ELF64, 4 in ELF32. */
  word(value: number): void {
    if (this.is64) this.u64(value);
    else this.u32(value);
  }

  pad(alignment: number): void {
    const remainder = this.length % alignment;
    if (remainder !== 0) this.bytes(Buffer.alloc(alignment - remainder));
  }

  result(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export function buildElf(spec: ElfSpec): Buffer {
  const is64 = (spec.elfClass ?? 64) === 64;
  const bigEndian = spec.bigEndian ?? false;
  const headerSize = is64 ? 64 : 52;
  const programHeaderSize = is64 ? 56 : 32;
  const sectionHeaderSize = is64 ? 64 : 40;
  const dynamicEntrySize = is64 ? 16 : 8;

  // The dynamic string table.
  const strings: string[] = [];
  const stringOffsets = new Map<string, number>();
  let stringTableLength = 1;
  const stringOffset = (value: string): number => {
    const known = stringOffsets.get(value);
    if (known !== undefined) return known;
    stringOffsets.set(value, stringTableLength);
    strings.push(value);
    stringTableLength += Buffer.byteLength(value) + 1;
    return stringOffsets.get(value)!;
  };
  const needed = (spec.needed ?? []).map(stringOffset);
  const soname = spec.soname === undefined ? undefined : stringOffset(spec.soname);
  const rpath = spec.rpath === undefined ? undefined : stringOffset(spec.rpath);
  const runpath = spec.runpath === undefined ? undefined : stringOffset(spec.runpath);
  const versionNeeds = (spec.versionNeeds ?? []).map((need) => ({
    file: stringOffset(need.file),
    versions: need.versions.map(stringOffset),
  }));
  const stringTable = Buffer.concat([
    Buffer.from([0]),
    ...strings.map((value) => Buffer.from(`${value}\0`, "utf8")),
  ]);

  const programHeaderCount = spec.sectionsOnly ? 0 : spec.interpreter === undefined ? 2 : 3;
  const interpreterBytes =
    spec.interpreter === undefined ? Buffer.alloc(0) : Buffer.from(`${spec.interpreter}\0`);
  // File layout: header, program headers, interpreter, strings, version table, dynamic, sections.
  const interpreterOffset = headerSize + programHeaderCount * programHeaderSize;
  const stringTableOffset = interpreterOffset + interpreterBytes.length;
  const versionTableOffset = align(stringTableOffset + stringTable.length, 8);
  const versionTableSize = versionNeeds.reduce(
    (total, need) => total + 16 + 16 * need.versions.length,
    0,
  );
  const dynamicOffset = align(versionTableOffset + versionTableSize, 8);
  const dynamicEntries: [number, number][] = [];
  for (const offset of needed) dynamicEntries.push([1, offset]);
  if (soname !== undefined) dynamicEntries.push([14, soname]);
  if (rpath !== undefined) dynamicEntries.push([15, rpath]);
  if (runpath !== undefined) dynamicEntries.push([29, runpath]);
  dynamicEntries.push([5, BASE_ADDRESS + stringTableOffset]);
  dynamicEntries.push([10, stringTable.length]);
  if (versionNeeds.length > 0 && !spec.sectionsOnly) {
    dynamicEntries.push([0x6ffffffe, BASE_ADDRESS + versionTableOffset]);
    dynamicEntries.push([0x6fffffff, versionNeeds.length]);
  }
  dynamicEntries.push([0, 0]);
  const dynamicSize = dynamicEntries.length * dynamicEntrySize;
  const sectionHeaderOffset = spec.sectionsOnly ? align(dynamicOffset + dynamicSize, 8) : 0;
  const sectionCount = spec.sectionsOnly ? 4 : 0;
  const fileSize = spec.sectionsOnly
    ? sectionHeaderOffset + sectionCount * sectionHeaderSize
    : dynamicOffset + dynamicSize;

  const writer = new Writer(is64, bigEndian);
  // e_ident: magic, class, data, version, OS ABI (System V), padding.
  writer.bytes(Buffer.from([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, bigEndian ? 2 : 1, 1, 0]));
  writer.bytes(Buffer.alloc(8));
  writer.u16(spec.type ?? 3);
  writer.u16(spec.machine);
  writer.u32(1);
  writer.word(0); // e_entry
  writer.word(programHeaderCount === 0 ? 0 : headerSize); // e_phoff
  writer.word(sectionHeaderOffset); // e_shoff
  writer.u32(0); // e_flags
  writer.u16(headerSize);
  writer.u16(programHeaderSize);
  writer.u16(programHeaderCount);
  writer.u16(sectionHeaderSize);
  writer.u16(sectionCount);
  writer.u16(0); // e_shstrndx

  const programHeader = (type: number, offset: number, size: number) => {
    if (is64) {
      writer.u32(type);
      writer.u32(4); // p_flags: read
      writer.u64(offset);
      writer.u64(BASE_ADDRESS + offset);
      writer.u64(BASE_ADDRESS + offset);
      writer.u64(size);
      writer.u64(size);
      writer.u64(type === PT_LOAD ? 0x1000 : 8);
    } else {
      writer.u32(type);
      writer.u32(offset);
      writer.u32(BASE_ADDRESS + offset);
      writer.u32(BASE_ADDRESS + offset);
      writer.u32(size);
      writer.u32(size);
      writer.u32(4);
      writer.u32(type === PT_LOAD ? 0x1000 : 8);
    }
  };
  if (programHeaderCount > 0) {
    programHeader(PT_LOAD, 0, fileSize);
    programHeader(PT_DYNAMIC, dynamicOffset, dynamicSize);
    if (spec.interpreter !== undefined) {
      programHeader(PT_INTERP, interpreterOffset, interpreterBytes.length);
    }
  }
  writer.bytes(interpreterBytes);
  writer.bytes(stringTable);
  writer.pad(8);
  versionNeeds.forEach((need, index) => {
    const last = index === versionNeeds.length - 1;
    writer.u16(1); // vn_version
    writer.u16(need.versions.length);
    writer.u32(need.file);
    writer.u32(16); // vn_aux: right after this entry
    writer.u32(last ? 0 : 16 + 16 * need.versions.length); // vn_next
    need.versions.forEach((version, versionIndex) => {
      writer.u32(0); // vna_hash (not checked by readers of names)
      writer.u16(0);
      writer.u16(versionIndex + 2); // vna_other
      writer.u32(version);
      writer.u32(versionIndex === need.versions.length - 1 ? 0 : 16);
    });
  });
  writer.pad(8);
  for (const [tag, value] of dynamicEntries) {
    if (is64) {
      writer.u64(tag);
      writer.u64(value);
    } else {
      writer.u32(tag);
      writer.u32(value);
    }
  }
  if (spec.sectionsOnly) {
    writer.pad(8);
    const sectionHeader = (
      type: number,
      offset: number,
      size: number,
      link: number,
      info: number,
    ) => {
      writer.u32(0); // sh_name
      writer.u32(type);
      writer.word(0); // sh_flags
      writer.word(type === 0 ? 0 : BASE_ADDRESS + offset);
      writer.word(offset);
      writer.word(size);
      writer.u32(link);
      writer.u32(info);
      writer.word(8);
      writer.word(0);
    };
    sectionHeader(0, 0, 0, 0, 0);
    sectionHeader(3, stringTableOffset, stringTable.length, 0, 0); // SHT_STRTAB
    sectionHeader(6, dynamicOffset, dynamicSize, 1, 0); // SHT_DYNAMIC → strings in section 1
    sectionHeader(0x6ffffffe, versionTableOffset, versionTableSize, 1, versionNeeds.length);
  }
  const bytes = writer.result();
  if (bytes.length !== fileSize)
    throw new Error(`ELF builder layout error: ${bytes.length} ≠ ${fileSize}`);
  return bytes;
}

function align(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** A 64-bit little-endian Mach-O header (mach_header_64) with no load commands. */
export function buildMachO(cpuType: number, fileType: number): Buffer {
  const header = Buffer.alloc(32);
  header.writeUInt32LE(0xfeedfacf, 0);
  header.writeUInt32LE(cpuType, 4);
  header.writeUInt32LE(0, 8); // cpusubtype
  header.writeUInt32LE(fileType, 12);
  return header;
}

/** An MS-DOS stub pointing to a PE signature and COFF header for `machine` (0x8664 = x64). */
export function buildPe(machine: number): Buffer {
  const bytes = Buffer.alloc(0x80 + 24);
  bytes.write("MZ", 0, "latin1");
  bytes.writeUInt32LE(0x80, 0x3c);
  bytes.write("PE\0\0", 0x80, "latin1");
  bytes.writeUInt16LE(machine, 0x84);
  return bytes;
}

export const CPU_TYPE_ARM64 = 0x0100000c;
export const MH_BUNDLE = 8;
