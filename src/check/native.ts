/**
 * Native-code checks, read statically from every ELF file of a layer: the CPU it was built
 * for, the glibc / libstdc++ symbol versions it needs against what the runtime's OS
 * provides (`os-facts.ts`), and whether every DT_NEEDED library can be found the way the
 * dynamic loader would look for it on Lambda.
 *
 * The loader's search order (ld.so(8)): DT_RPATH when there is no DT_RUNPATH, then
 * LD_LIBRARY_PATH, then DT_RUNPATH, then the system folders. `$ORIGIN` is the folder of the
 * object that asks. On Lambda LD_LIBRARY_PATH includes /opt/lib (the layer's `lib/`)
 * (AWS Lambda developer guide, "Defined runtime environment variables").
 */
import { posix } from "node:path";
import type { Architecture, Target } from "../runtime/index.js";
import type { ZipEntry } from "../zip/index.js";
import { type ElfInfo, EM_AARCH64, EM_X86_64 } from "./elf.js";
import { describeBinary, entryWeight, namesSharedLibrary, type StoredBinary } from "./facts.js";
import type { LayerFiles } from "./layer-files.js";
import { packageOf } from "./layer-files.js";
import { forEachWeighted } from "./layout.js";
import {
  baseLibrary,
  compareVersions,
  formatVersion,
  osFacts,
  parseSymbolVersion,
} from "./os-facts.js";
import { FINDING_CODES, type Finding } from "./types.js";

/**
 * Where Lambda extracts the zip being checked, for the loader's search and the words of
 * findings. Lambda's LD_LIBRARY_PATH is /var/lang/lib:/lib64:/usr/lib64:/var/runtime:
 * /var/runtime/lib:/var/task:/var/task/lib:/opt/lib (AWS Lambda developer guide, "Defined
 * runtime environment variables"): a layer's `lib/` and a function package's root and `lib/`.
 */
export interface ZipPlace {
  /** `/opt` (a layer) or `/var/task` (a function package). */
  mount: "/opt" | "/var/task";
  /** What the zip is called in messages. */
  noun: "layer" | "function package";
  /** Zip folders on LD_LIBRARY_PATH (`""` is the zip root). */
  libraryDirs: readonly string[];
}

export const LAYER_PLACE: ZipPlace = { mount: "/opt", noun: "layer", libraryDirs: ["lib"] };
export const FUNCTION_PLACE: ZipPlace = {
  mount: "/var/task",
  noun: "function package",
  libraryDirs: ["", "lib"],
};

/** One file read for the native checks. */
export type ScannedFile =
  | { path: string; kind: "elf"; elf: ElfInfo }
  | { path: string; kind: "not-elf"; description: string; fatal: boolean }
  | { path: string; kind: "unreadable"; reason: string };

/**
 * Whether a zip entry may hold native code worth reading: shared objects (`.so`,
 * `.so.1.2`), anything under a top-level `bin/` or `lib/` (/opt/bin, /opt/lib) and anything
 * in an auditwheel `<name>.libs/` folder. Other files are not read.
 */
export function mayBeNative(entry: ZipEntry): boolean {
  if (entry.isDirectory || entry.isSymlink) return false;
  const name = entry.name;
  return (
    namesSharedLibrary(name) ||
    name.startsWith("bin/") ||
    name.startsWith("lib/") ||
    name.startsWith("lib64/")
  );
}

/**
 * Reads every candidate file once (or takes what its wheel's facts say); the results serve
 * every target. Files are read whole, within the check's memory budget.
 */
export async function scanNativeFiles(
  files: LayerFiles,
  onProgress?: (done: number, total: number) => void,
): Promise<ScannedFile[]> {
  const candidates = files.files.filter(mayBeNative);
  const results: ScannedFile[] = new Array(candidates.length);
  let done = 0;
  const known = (entry: ZipEntry) => files.facts.get(entry.name)?.binary;
  await forEachWeighted(
    candidates,
    (entry) => (known(entry) === undefined ? entryWeight(entry, true) : 0),
    async (entry, index) => {
      const binary = known(entry) ?? describeBinary(await files.reader.read(entry));
      const scanned = scannedFile(entry.name, binary);
      if (scanned !== undefined) results[index] = scanned;
      done++;
      onProgress?.(done, candidates.length);
    },
  );
  return results.filter((result) => result !== undefined);
}

/** What the native checks make of a file's type, by where it sits in the layer. */
function scannedFile(path: string, binary: StoredBinary): ScannedFile | undefined {
  switch (binary.kind) {
    case "elf":
      return { path, kind: "elf", elf: binary.elf };
    case "unreadable":
      return { path, kind: "unreadable", reason: binary.reason };
    case "mach-o":
    case "pe":
      return { path, kind: "not-elf", description: binary.description, fatal: true };
    default:
      // A file in /opt/bin may be a script; a shared object must be a binary.
      if (!path.startsWith("bin/") && /\.so(\.\d+)*$/.test(path)) {
        return {
          path,
          kind: "not-elf",
          description: binary.kind === "text" ? "a text file" : "an unknown binary format",
          fatal: false,
        };
      }
      return undefined;
  }
}

function expectedMachine(architecture: Architecture): { machine: number; name: string } {
  return architecture === "arm64"
    ? { machine: EM_AARCH64, name: "aarch64" }
    : { machine: EM_X86_64, name: "x86_64" };
}

/** The native findings of one target, from the files `scanNativeFiles` read. */
export function checkNative(
  files: LayerFiles,
  scanned: readonly ScannedFile[],
  target: Target,
  place: ZipPlace = LAYER_PLACE,
): Finding[] {
  const { mount, noun } = place;
  const findings: Finding[] = [];
  const expected = expectedMachine(target.architecture);
  const facts = osFacts(target.runtime);
  const sonames = new Map<string, string>();
  for (const file of scanned) {
    if (file.kind === "elf" && file.elf.soname !== undefined) {
      sonames.set(file.elf.soname, file.path);
    }
  }
  const context = `${target.runtime.name} (${facts.os}, ${target.architecture})`;
  const loadable = scanned.flatMap((file) =>
    file.kind === "elf" &&
    file.elf.dynamic &&
    file.elf.machine === expected.machine &&
    file.elf.elfClass === 64 &&
    file.elf.endianness === "little"
      ? [{ path: file.path, elf: file.elf }]
      : [],
  );
  const searchPaths = loadChainSearchDirs(files, loadable, place);

  for (const file of scanned) {
    const base = { file: file.path, package: packageOf(files, file.path), target: target.id };
    if (file.kind === "not-elf") {
      findings.push({
        ...base,
        code: FINDING_CODES.notElf,
        severity: file.fatal ? "error" : "warning",
        message: `${file.path} is not an ELF file (${file.description}); Linux cannot load it${file.fatal ? " (“invalid ELF header”)" : ""}`,
        hint: file.fatal
          ? `The ${noun} was built on macOS or Windows, or from a wheel for them; build it for Linux (pylayer build picks manylinux wheels).`
          : "If this file is meant to be loaded as a library, replace it with the Linux build.",
      });
      continue;
    }
    if (file.kind === "unreadable") {
      findings.push({
        ...base,
        code: FINDING_CODES.elfUnreadable,
        severity: "warning",
        message: `${file.path} looks like an ELF file but cannot be read: ${file.reason}`,
        hint: "The file may be truncated or corrupt; reinstall the package it belongs to.",
      });
      continue;
    }
    const elf = file.elf;
    if (elf.machine !== expected.machine || elf.elfClass !== 64 || elf.endianness !== "little") {
      const built = `${elf.machineName}${elf.elfClass === 32 && !elf.machineName.includes("32") ? " (32-bit)" : ""}${elf.endianness === "big" ? " big-endian" : ""}`;
      findings.push({
        ...base,
        code: FINDING_CODES.elfWrongMachine,
        severity: "error",
        message: `${file.path} is built for ${built}, but ${target.runtime.name} on ${target.architecture} runs ${expected.name} code`,
        hint: `Build the ${noun} for --arch ${target.architecture} (wheels tagged ${expected.name}), or deploy the function on the matching architecture.`,
        details: { machine: elf.machineName, elfClass: elf.elfClass, endianness: elf.endianness },
      });
      continue;
    }
    if (!elf.dynamic) continue;

    const searchDirs = searchPaths.get(file.path) ?? librarySearchDirs(file.path, elf, [], place);
    const resolve = (needed: string) => resolveInZip(files, needed, searchDirs, mount);

    // Symbol versions, compared only for libraries that come from the OS.
    const tooNew = { GLIBC: [] as string[], GLIBCXX: [] as string[], CXXABI: [] as string[] };
    const unverified: string[] = [];
    for (const need of elf.versionNeeds) {
      if (resolve(need.file) !== undefined) continue;
      for (const versionName of need.versions) {
        const parsed = parseSymbolVersion(versionName);
        if (parsed === undefined) continue;
        if (parsed.family === "GLIBC") {
          if (compareVersions(parsed.version, facts.glibc) > 0) tooNew.GLIBC.push(versionName);
          continue;
        }
        const certain = parsed.family === "GLIBCXX" ? facts.glibcxx : facts.cxxabi;
        if (compareVersions(parsed.version, certain) <= 0) continue;
        const possible =
          facts.unverifiedLibstdcxx === undefined
            ? undefined
            : parsed.family === "GLIBCXX"
              ? facts.unverifiedLibstdcxx.glibcxx
              : facts.unverifiedLibstdcxx.cxxabi;
        if (possible !== undefined && compareVersions(parsed.version, possible) <= 0) {
          unverified.push(versionName);
        } else {
          tooNew[parsed.family].push(versionName);
        }
      }
    }
    if (tooNew.GLIBC.length > 0) {
      const highest = highestVersion(tooNew.GLIBC);
      findings.push({
        ...base,
        code: FINDING_CODES.glibcTooNew,
        severity: "error",
        message: `${file.path} needs ${highest} but ${context} has glibc ${formatVersion(facts.glibc)}; importing it fails with "version \`${highest}' not found"`,
        hint: `Use ${anotherRelease(base.package)} with a manylinux_2_${facts.glibc[1]} (or older) wheel, as pylayer build picks, or a runtime with a newer glibc${facts.os === "Amazon Linux 2" ? " (python3.12+ run on Amazon Linux 2023, glibc 2.34)" : ""}.`,
        details: {
          needs: sortVersions(tooNew.GLIBC),
          provided: `GLIBC_${formatVersion(facts.glibc)}`,
        },
      });
    }
    for (const family of ["GLIBCXX", "CXXABI"] as const) {
      if (tooNew[family].length === 0) continue;
      const highest = highestVersion(tooNew[family]);
      const provided = family === "GLIBCXX" ? facts.glibcxx : facts.cxxabi;
      findings.push({
        ...base,
        code: family === "GLIBCXX" ? FINDING_CODES.glibcxxTooNew : FINDING_CODES.cxxabiTooNew,
        severity: "error",
        message: `${file.path} needs ${highest} from libstdc++.so.6, but ${context} has the libstdc++ of GCC ${facts.gcc} (up to ${family}_${formatVersion(provided)})`,
        hint: `Use ${anotherRelease(base.package)} built with an older compiler (a manylinux wheel for glibc ${formatVersion(facts.glibc)} or older), or ship a matching libstdc++.so.6 in the ${noun}'s lib/ folder.`,
        details: {
          needs: sortVersions(tooNew[family]),
          provided: `${family}_${formatVersion(provided)}`,
        },
      });
    }
    if (unverified.length > 0 && facts.unverifiedLibstdcxx !== undefined) {
      findings.push({
        ...base,
        code: FINDING_CODES.libstdcxxUnverified,
        severity: "warning",
        message: `${file.path} needs ${highestVersion(unverified)} from libstdc++.so.6; ${context} certainly has up to GLIBCXX_${formatVersion(facts.glibcxx)} / CXXABI_${formatVersion(facts.cxxabi)}. ${facts.unverifiedLibstdcxx.reason}`,
        hint: "Try it with `pylayer invoke` on a real deployment, or pick a release built against an older libstdc++.",
        details: { needs: sortVersions(unverified) },
      });
    }

    // DT_NEEDED libraries.
    for (const needed of elf.needed) {
      if (resolve(needed) !== undefined) continue;
      const system = baseLibrary(needed, target.runtime, target.architecture);
      if (system?.presence === "present") continue;
      const elsewhere = sonames.get(needed) ?? findByBasename(files, needed);
      if (elsewhere !== undefined) {
        findings.push({
          ...base,
          code: FINDING_CODES.libraryNotOnSearchPath,
          severity: "warning",
          message: `${file.path} needs ${needed}, which the ${noun} has at ${elsewhere}, but not on this file's search path (${describeSearchPath(searchDirs, mount)}); it only loads if something else loaded it first`,
          hint: `Put the library in the ${noun}'s lib/ folder (${mount}/lib is on LD_LIBRARY_PATH) or next to the files that need it.`,
          details: { needed, foundAt: elsewhere, searchPath: searchDirs },
        });
        continue;
      }
      if (system?.presence === "unverified") {
        findings.push({
          ...base,
          code: FINDING_CODES.libraryUnverified,
          severity: "warning",
          message: `${file.path} needs ${needed}, which the ${noun} does not ship; whether ${context} provides it is unverified (${system.source})`,
          hint: `If the import fails with "${needed}: cannot open shared object file", add the library to the ${noun}'s lib/ folder.`,
          details: { needed, source: system.source },
        });
        continue;
      }
      findings.push({
        ...base,
        code: FINDING_CODES.libraryMissing,
        severity: "error",
        message: `${file.path} needs ${needed}, which is neither in the ${noun} nor in ${context}${system?.presence === "absent" ? ` (${system.source})` : ""}; importing it fails with "${needed}: cannot open shared object file"`,
        hint: `Add ${needed} (built for ${facts.os}, ${target.architecture}) to the ${noun}'s lib/ folder, or use a wheel that bundles it (auditwheel-repaired manylinux wheels do).`,
        details: { needed, searchPath: searchDirs },
      });
    }
  }
  return findings;
}

/**
 * Zip folders the loader searches for `elf`'s DT_NEEDED entries, in order: DT_RPATH (only
 * without DT_RUNPATH), then `inherited` (the DT_RPATH of the objects that load this one,
 * see `loadChainSearchDirs`), the zip's folders on LD_LIBRARY_PATH (a layer's `lib/`, /opt/lib;
 * a function package's root and `lib/`), DT_RUNPATH. Entries outside the zip's mount point
 * (e.g. /usr/lib64) are not part of the zip and are left out.
 */
export function librarySearchDirs(
  path: string,
  elf: ElfInfo,
  inherited: readonly string[] = [],
  place: ZipPlace = LAYER_PLACE,
): string[] {
  const dirs: string[] = [];
  const add = (dir: string | undefined) => {
    if (dir !== undefined && !dirs.includes(dir)) dirs.push(dir);
  };
  if (elf.runpath.length === 0) {
    for (const dir of expandedPaths(path, elf.rpath, place.mount)) add(dir);
    for (const dir of inherited) add(dir);
  }
  for (const dir of place.libraryDirs) add(dir);
  for (const dir of expandedPaths(path, elf.runpath, place.mount)) add(dir);
  return dirs;
}

/** DT_RPATH/DT_RUNPATH entries as zip folders: `$ORIGIN` is the object's folder; paths outside `mount` are dropped. */
function expandedPaths(path: string, entries: readonly string[], mount: string): string[] {
  const origin = posix.dirname(path) === "." ? "" : posix.dirname(path);
  const dirs: string[] = [];
  for (const entry of entries) {
    const replaced = entry.replace(/\$\{ORIGIN\}|\$ORIGIN/g, `${mount}/${origin}`);
    if (!replaced.startsWith("/")) continue;
    const dir = mountedPathToZip(replaced, mount);
    if (dir !== undefined) dirs.push(dir);
  }
  return dirs;
}

/**
 * The search folders of every ELF file, including the DT_RPATH it inherits: when an object
 * has no DT_RUNPATH, glibc's loader also searches the DT_RPATH of the object that loaded
 * it, and of that one's loader, up the chain (objects with DT_RUNPATH contribute nothing).
 * auditwheel-repaired wheels rely on this: the extension module carries
 * `RPATH=$ORIGIN/../<name>.libs` and the bundled libraries it pulls in carry none. Any
 * object of the layer that needs a file counts as a possible loader of it.
 */
export function loadChainSearchDirs(
  files: LayerFiles,
  objects: readonly { path: string; elf: ElfInfo }[],
  place: ZipPlace = LAYER_PLACE,
): Map<string, string[]> {
  const inherited = new Map<string, string[]>();
  const dirsOf = (object: { path: string; elf: ElfInfo }) =>
    librarySearchDirs(object.path, object.elf, inherited.get(object.path), place);
  let changed = true;
  while (changed) {
    changed = false;
    for (const object of objects) {
      const dirs = dirsOf(object);
      const passedOn =
        object.elf.runpath.length === 0
          ? [
              ...expandedPaths(object.path, object.elf.rpath, place.mount),
              ...(inherited.get(object.path) ?? []),
            ]
          : (inherited.get(object.path) ?? []);
      if (passedOn.length === 0) continue;
      for (const needed of object.elf.needed) {
        const child = resolveInZip(files, needed, dirs, place.mount);
        if (child === undefined) continue;
        const list = inherited.get(child) ?? [];
        for (const dir of passedOn) {
          if (!list.includes(dir)) {
            list.push(dir);
            changed = true;
          }
        }
        inherited.set(child, list);
      }
    }
  }
  return new Map(objects.map((object) => [object.path, dirsOf(object)]));
}

/** Where the loader finds `needed` in the zip when searching `dirs`, if anywhere. */
function resolveInZip(
  files: LayerFiles,
  needed: string,
  dirs: readonly string[],
  mount: string,
): string | undefined {
  if (needed.includes("/")) {
    const mapped = mountedPathToZip(needed, mount);
    return mapped !== undefined && files.byName.has(mapped) ? mapped : undefined;
  }
  for (const dir of dirs) {
    const candidate = dir === "" ? needed : `${dir}/${needed}`;
    if (files.byName.has(candidate)) return candidate;
  }
  return undefined;
}

/** `/opt/python/x` → `python/x` (mount `/opt`); undefined for paths outside `mount`. */
function mountedPathToZip(path: string, mount: string): string | undefined {
  const normalized = posix.normalize(path);
  if (normalized === mount) return "";
  if (!normalized.startsWith(`${mount}/`)) return undefined;
  return normalized.slice(mount.length + 1).replace(/\/$/, "");
}

/** "another release of numpy (2.4.6 is installed)" from a `name version` label. */
function anotherRelease(label: string | undefined): string {
  if (label === undefined) return "another release of the package";
  const space = label.lastIndexOf(" ");
  return space === -1
    ? `another release of ${label}`
    : `another release of ${label.slice(0, space)} (${label.slice(space + 1)} is installed)`;
}

function findByBasename(files: LayerFiles, name: string): string | undefined {
  for (const entry of files.files) {
    if (posix.basename(entry.name) === name) return entry.name;
  }
  return undefined;
}

function describeSearchPath(dirs: readonly string[], mount: string): string {
  return dirs.map((dir) => (dir === "" ? mount : `${mount}/${dir}`)).join(", ");
}

function sortVersions(names: readonly string[]): string[] {
  return [...new Set(names)].sort((a, b) =>
    compareVersions(parseSymbolVersion(a)!.version, parseSymbolVersion(b)!.version),
  );
}

function highestVersion(names: readonly string[]): string {
  return sortVersions(names).at(-1)!;
}
