/**
 * A small reader for what the dynamic loader needs from an ELF file: class, byte order,
 * machine, the interpreter, and the dynamic section (DT_NEEDED, DT_SONAME, DT_RPATH,
 * DT_RUNPATH) with the version-needed table (DT_VERNEED, `.gnu.version_r`) that says
 * which symbol versions (GLIBC_2.28, GLIBCXX_3.4.26, …) the file needs from which library.
 *
 * Formats: System V ABI "ELF" (generic), the Linux Standard Base "Symbol Versioning"
 * chapter for Elf*_Verneed / Elf*_Vernaux; Apple's <mach-o/loader.h> and <mach-o/fat.h>
 * for Mach-O magic numbers; Microsoft's "PE Format" for `MZ` / `PE\0\0` headers.
 *
 * Dynamic entries hold virtual addresses; they are mapped to file offsets through the
 * PT_LOAD segments, as the loader does. Files without a PT_DYNAMIC segment fall back to
 * the section headers.
 */

export class ElfFormatError extends Error {
  override name = "ElfFormatError";
}

export interface VersionNeed {
  /** The library the versions are needed from (vn_file), e.g. `libc.so.6`. */
  file: string;
  /** Version names, e.g. `GLIBC_2.17`, in table order. */
  versions: string[];
}

export interface ElfInfo {
  elfClass: 32 | 64;
  endianness: "little" | "big";
  /** e_type: 2 executable, 3 shared object (or position-independent executable). */
  type: number;
  /** e_machine. */
  machine: number;
  /** A readable name for `machine`, e.g. `x86_64`, `aarch64`, `x86 (32-bit)`. */
  machineName: string;
  /** PT_INTERP, e.g. `/lib64/ld-linux-x86-64.so.2`. */
  interpreter?: string;
  /** False for statically linked files (no dynamic section). */
  dynamic: boolean;
  needed: string[];
  soname?: string;
  rpath: string[];
  runpath: string[];
  versionNeeds: VersionNeed[];
}

/** e_machine values (System V ABI, "Machine" table), the ones a layer may plausibly hold. */
const MACHINE_NAMES: Record<number, string> = {
  2: "SPARC",
  3: "x86 (32-bit)",
  8: "MIPS",
  20: "PowerPC",
  21: "PowerPC64",
  22: "s390",
  40: "ARM (32-bit)",
  43: "SPARC V9",
  50: "IA-64",
  62: "x86_64",
  183: "aarch64",
  243: "RISC-V",
  258: "LoongArch",
};

export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const SHT_DYNAMIC = 6;
const SHT_GNU_VERNEED = 0x6ffffffe;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
const DT_VERNEED = 0x6ffffffe;
const DT_VERNEEDNUM = 0x6fffffff;

/** What kind of file `bytes` (its first few hundred bytes suffice) starts like. */
export type BinaryKind =
  | { kind: "elf" }
  | { kind: "mach-o"; description: string }
  | { kind: "pe"; description: string }
  | { kind: "text" }
  | { kind: "unknown" };

export function isElf(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 &&
    bytes[0] === 0x7f &&
    bytes[1] === 0x45 &&
    bytes[2] === 0x4c &&
    bytes[3] === 0x46
  );
}

/** Mach-O CPU types (<mach/machine.h>): the architecture bit 0x01000000 marks 64-bit. */
const MACH_CPU_NAMES: Record<number, string> = {
  7: "x86",
  16777223: "x86_64",
  12: "ARM",
  16777228: "arm64",
  18: "PowerPC",
  16777234: "PowerPC64",
};

/** Mach-O file types (<mach-o/loader.h>). */
const MACH_FILE_TYPES: Record<number, string> = {
  1: "object file",
  2: "executable",
  6: "dynamic library",
  8: "bundle",
};

/** PE machine types (PE Format, "Machine Types"). */
const PE_MACHINE_NAMES: Record<number, string> = {
  332: "x86",
  34404: "x64",
  43620: "ARM64",
  452: "ARM",
};

export function identifyBinary(bytes: Buffer): BinaryKind {
  if (isElf(bytes)) return { kind: "elf" };
  if (bytes.length >= 4) {
    const big = bytes.readUInt32BE(0);
    // Thin Mach-O: 0xfeedface (32-bit) / 0xfeedfacf (64-bit), stored in the file's byte order.
    if (big === 0xfeedface || big === 0xfeedfacf || big === 0xcefaedfe || big === 0xcffaedfe) {
      const littleEndian = big === 0xcefaedfe || big === 0xcffaedfe;
      let detail = "";
      if (bytes.length >= 16) {
        const cpu = littleEndian ? bytes.readUInt32LE(4) : bytes.readUInt32BE(4);
        const fileType = littleEndian ? bytes.readUInt32LE(12) : bytes.readUInt32BE(12);
        const parts = [MACH_CPU_NAMES[cpu], MACH_FILE_TYPES[fileType]].filter(Boolean);
        if (parts.length > 0) detail = ` ${parts.join(" ")}`;
      }
      return { kind: "mach-o", description: `a macOS Mach-O${detail}` };
    }
    // Universal ("fat") Mach-O: 0xcafebabe / 0xcafebabf, always big-endian.
    if (big === 0xcafebabe || big === 0xcafebabf) {
      return { kind: "mach-o", description: "a macOS universal (fat) Mach-O binary" };
    }
  }
  if (bytes.length >= 2 && bytes[0] === 0x4d && bytes[1] === 0x5a) {
    let detail = "";
    if (bytes.length >= 0x40) {
      const peOffset = bytes.readUInt32LE(0x3c);
      if (peOffset + 6 <= bytes.length && bytes.readUInt32BE(peOffset) === 0x50450000) {
        const machine = PE_MACHINE_NAMES[bytes.readUInt16LE(peOffset + 4)];
        if (machine !== undefined) detail = ` ${machine}`;
      }
    }
    return { kind: "pe", description: `a Windows PE (DLL/EXE)${detail} file` };
  }
  if (looksLikeText(bytes)) return { kind: "text" };
  return { kind: "unknown" };
}

function looksLikeText(bytes: Buffer): boolean {
  const sample = bytes.subarray(0, 512);
  if (sample.length === 0) return true;
  for (const byte of sample) {
    if (byte === 0) return false;
    if (byte < 0x09 || (byte > 0x0d && byte < 0x20)) return false;
  }
  return true;
}

/** Parses `bytes` as an ELF file. Throws `ElfFormatError` when it is not one or is corrupt. */
export function parseElf(bytes: Buffer): ElfInfo {
  if (!isElf(bytes)) throw new ElfFormatError("the file does not start with the ELF magic number");
  if (bytes.length < 52) throw new ElfFormatError("the ELF header is truncated");
  const classByte = bytes[4];
  const dataByte = bytes[5];
  if (classByte !== 1 && classByte !== 2) {
    throw new ElfFormatError(`unknown ELF class ${classByte}`);
  }
  if (dataByte !== 1 && dataByte !== 2) {
    throw new ElfFormatError(`unknown ELF data encoding ${dataByte}`);
  }
  const reader = new ElfReader(bytes, classByte === 2 ? 64 : 32, dataByte === 1);
  const is64 = reader.is64;
  if (is64 && bytes.length < 64) throw new ElfFormatError("the ELF header is truncated");

  const type = reader.u16(16);
  const machine = reader.u16(18);
  const programHeaderOffset = is64 ? reader.u64(32) : reader.u32(28);
  const sectionHeaderOffset = is64 ? reader.u64(40) : reader.u32(32);
  const programHeaderSize = reader.u16(is64 ? 54 : 42);
  const programHeaderCount = reader.u16(is64 ? 56 : 44);
  const sectionHeaderSize = reader.u16(is64 ? 58 : 46);
  const sectionHeaderCount = reader.u16(is64 ? 60 : 48);

  const segments: Segment[] = [];
  for (let index = 0; index < programHeaderCount; index++) {
    const start = programHeaderOffset + index * programHeaderSize;
    reader.need(start, is64 ? 56 : 32, "a program header");
    segments.push(
      is64
        ? {
            type: reader.u32(start),
            offset: reader.u64(start + 8),
            virtualAddress: reader.u64(start + 16),
            fileSize: reader.u64(start + 32),
          }
        : {
            type: reader.u32(start),
            offset: reader.u32(start + 4),
            virtualAddress: reader.u32(start + 8),
            fileSize: reader.u32(start + 16),
          },
    );
  }

  const info: ElfInfo = {
    elfClass: reader.is64 ? 64 : 32,
    endianness: reader.littleEndian ? "little" : "big",
    type,
    machine,
    machineName: MACHINE_NAMES[machine] ?? `machine ${machine}`,
    dynamic: false,
    needed: [],
    rpath: [],
    runpath: [],
    versionNeeds: [],
  };

  const interpreterSegment = segments.find((segment) => segment.type === PT_INTERP);
  if (interpreterSegment !== undefined) {
    reader.need(interpreterSegment.offset, interpreterSegment.fileSize, "the interpreter path");
    info.interpreter = reader.cString(interpreterSegment.offset, interpreterSegment.fileSize);
  }

  const dynamicSegment = segments.find((segment) => segment.type === PT_DYNAMIC);
  let dynamicTable: { offset: number; size: number } | undefined;
  let toFileOffset: (address: number) => number | undefined = (address) =>
    addressToOffset(segments, address);
  let sections: Section[] = [];
  if (dynamicSegment !== undefined) {
    dynamicTable = { offset: dynamicSegment.offset, size: dynamicSegment.fileSize };
  } else if (sectionHeaderOffset !== 0 && sectionHeaderCount > 0) {
    sections = readSections(reader, sectionHeaderOffset, sectionHeaderSize, sectionHeaderCount);
    const dynamicSection = sections.find((section) => section.type === SHT_DYNAMIC);
    if (dynamicSection !== undefined) {
      dynamicTable = { offset: dynamicSection.offset, size: dynamicSection.size };
      toFileOffset = (address) =>
        addressToOffset(
          sections.map((section) => ({
            type: PT_LOAD,
            offset: section.offset,
            virtualAddress: section.address,
            fileSize: section.size,
          })),
          address,
        );
    }
  }
  if (dynamicTable === undefined) return info;
  info.dynamic = true;

  const entrySize = is64 ? 16 : 8;
  reader.need(dynamicTable.offset, dynamicTable.size, "the dynamic section");
  const entries: { tag: number; value: number }[] = [];
  for (
    let position = dynamicTable.offset;
    position + entrySize <= dynamicTable.offset + dynamicTable.size;
    position += entrySize
  ) {
    const tag = is64 ? reader.i64(position) : reader.i32(position);
    const value = is64 ? reader.u64(position + 8) : reader.u32(position + 4);
    if (tag === DT_NULL) break;
    entries.push({ tag, value });
  }
  const dynamicValue = (tag: number) => entries.find((entry) => entry.tag === tag)?.value;

  const stringTableAddress = dynamicValue(DT_STRTAB);
  if (stringTableAddress === undefined) {
    throw new ElfFormatError("the dynamic section has no string table (DT_STRTAB)");
  }
  const stringTableOffset = toFileOffset(stringTableAddress);
  if (stringTableOffset === undefined) {
    throw new ElfFormatError("the dynamic string table is outside every loaded segment");
  }
  const stringTableSize = Math.min(
    dynamicValue(DT_STRSZ) ?? bytes.length - stringTableOffset,
    bytes.length - stringTableOffset,
  );
  const dynamicString = (offset: number): string => {
    if (offset >= stringTableSize) {
      throw new ElfFormatError("a dynamic entry points past the end of the string table");
    }
    return reader.cString(stringTableOffset + offset, stringTableSize - offset);
  };

  for (const entry of entries) {
    if (entry.tag === DT_NEEDED) info.needed.push(dynamicString(entry.value));
    else if (entry.tag === DT_SONAME) info.soname = dynamicString(entry.value);
    else if (entry.tag === DT_RPATH) info.rpath.push(...splitPathList(dynamicString(entry.value)));
    else if (entry.tag === DT_RUNPATH)
      info.runpath.push(...splitPathList(dynamicString(entry.value)));
  }

  const versionNeedAddress = dynamicValue(DT_VERNEED);
  const versionNeedCount = dynamicValue(DT_VERNEEDNUM);
  if (versionNeedAddress !== undefined && versionNeedCount !== undefined) {
    const offset = toFileOffset(versionNeedAddress);
    if (offset === undefined) {
      throw new ElfFormatError("the version-needed table is outside every loaded segment");
    }
    info.versionNeeds = readVersionNeeds(reader, offset, versionNeedCount, dynamicString);
  } else if (sections.length > 0) {
    // Section fallback: `.gnu.version_r` with sh_info entries, strings in its sh_link section.
    const versionSection = sections.find((section) => section.type === SHT_GNU_VERNEED);
    const linked = versionSection === undefined ? undefined : sections[versionSection.link];
    if (versionSection !== undefined && linked !== undefined) {
      const linkedString = (offset: number) => {
        if (offset >= linked.size) {
          throw new ElfFormatError("a version entry points past the end of its string table");
        }
        return reader.cString(linked.offset + offset, linked.size - offset);
      };
      info.versionNeeds = readVersionNeeds(
        reader,
        versionSection.offset,
        versionSection.info,
        linkedString,
      );
    }
  }
  return info;
}

interface Segment {
  type: number;
  offset: number;
  virtualAddress: number;
  fileSize: number;
}

interface Section {
  type: number;
  address: number;
  offset: number;
  size: number;
  link: number;
  info: number;
}

function addressToOffset(segments: readonly Segment[], address: number): number | undefined {
  for (const segment of segments) {
    if (
      segment.type === PT_LOAD &&
      address >= segment.virtualAddress &&
      address < segment.virtualAddress + segment.fileSize
    ) {
      return address - segment.virtualAddress + segment.offset;
    }
  }
  return undefined;
}

function readSections(
  reader: ElfReader,
  offset: number,
  entrySize: number,
  count: number,
): Section[] {
  const sections: Section[] = [];
  const is64 = reader.is64;
  for (let index = 0; index < count; index++) {
    const start = offset + index * entrySize;
    reader.need(start, is64 ? 64 : 40, "a section header");
    sections.push(
      is64
        ? {
            type: reader.u32(start + 4),
            address: reader.u64(start + 16),
            offset: reader.u64(start + 24),
            size: reader.u64(start + 32),
            link: reader.u32(start + 40),
            info: reader.u32(start + 44),
          }
        : {
            type: reader.u32(start + 4),
            address: reader.u32(start + 12),
            offset: reader.u32(start + 16),
            size: reader.u32(start + 20),
            link: reader.u32(start + 24),
            info: reader.u32(start + 28),
          },
    );
  }
  return sections;
}

/**
 * Elf*_Verneed entries (16 bytes: vn_version, vn_cnt, vn_file, vn_aux, vn_next) each with
 * vn_cnt Elf*_Vernaux entries (16 bytes: vna_hash, vna_flags, vna_other, vna_name,
 * vna_next); the same layout in 32- and 64-bit files. Offsets are relative to the entry.
 */
function readVersionNeeds(
  reader: ElfReader,
  start: number,
  count: number,
  stringAt: (offset: number) => string,
): VersionNeed[] {
  const needs: VersionNeed[] = [];
  let position = start;
  for (let index = 0; index < count; index++) {
    reader.need(position, 16, "a version-needed entry");
    const auxCount = reader.u16(position + 2);
    const file = stringAt(reader.u32(position + 4));
    const auxOffset = reader.u32(position + 8);
    const next = reader.u32(position + 12);
    const versions: string[] = [];
    let auxPosition = position + auxOffset;
    for (let auxIndex = 0; auxIndex < auxCount; auxIndex++) {
      reader.need(auxPosition, 16, "a version-needed auxiliary entry");
      versions.push(stringAt(reader.u32(auxPosition + 8)));
      const auxNext = reader.u32(auxPosition + 12);
      if (auxNext === 0) break;
      auxPosition += auxNext;
    }
    needs.push({ file, versions });
    if (next === 0) break;
    position += next;
  }
  return needs;
}

/** DT_RPATH / DT_RUNPATH are colon-separated lists; empty items mean the current folder. */
function splitPathList(value: string): string[] {
  return value.split(":").filter((item) => item !== "");
}

class ElfReader {
  constructor(
    readonly bytes: Buffer,
    readonly elfClass: 32 | 64,
    readonly littleEndian: boolean,
  ) {}

  get is64(): boolean {
    return this.elfClass === 64;
  }

  need(offset: number, length: number, what: string): void {
    if (offset < 0 || length < 0 || offset + length > this.bytes.length) {
      throw new ElfFormatError(`${what} lies past the end of the file (truncated?)`);
    }
  }

  u16(offset: number): number {
    this.need(offset, 2, "a field");
    return this.littleEndian ? this.bytes.readUInt16LE(offset) : this.bytes.readUInt16BE(offset);
  }

  u32(offset: number): number {
    this.need(offset, 4, "a field");
    return this.littleEndian ? this.bytes.readUInt32LE(offset) : this.bytes.readUInt32BE(offset);
  }

  i32(offset: number): number {
    this.need(offset, 4, "a field");
    return this.littleEndian ? this.bytes.readInt32LE(offset) : this.bytes.readInt32BE(offset);
  }

  u64(offset: number): number {
    this.need(offset, 8, "a field");
    const value = this.littleEndian
      ? this.bytes.readBigUInt64LE(offset)
      : this.bytes.readBigUInt64BE(offset);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ElfFormatError("a 64-bit offset or address is too large");
    }
    return Number(value);
  }

  /** A signed 64-bit field (d_tag). Every tag ELF defines fits a double exactly. */
  i64(offset: number): number {
    this.need(offset, 8, "a field");
    const value = this.littleEndian
      ? this.bytes.readBigInt64LE(offset)
      : this.bytes.readBigInt64BE(offset);
    return Number(value);
  }

  cString(offset: number, maxLength: number): string {
    const limit = Math.min(this.bytes.length, offset + maxLength);
    let end = offset;
    while (end < limit && this.bytes[end] !== 0) end++;
    return this.bytes.toString("utf8", offset, end);
  }
}
