/**
 * Python-level checks: every installed distribution has its RECORD and METADATA (PEP 376,
 * "Recording installed projects"), its top-level modules exist, no two distributions write
 * the same file, and extension modules carry a file-name tag the runtime's CPython loads
 * (PEP 3149 ABI-tagged `.so` names, PEP 384 `abi3`; CPython's EXTENSION_SUFFIXES on Linux
 * are `.cpython-3X-<arch>-linux-gnu.so`, `.abi3.so` and `.so`).
 */
import { posix } from "node:path";
import { type Target, wheelMachine } from "../runtime/index.js";
import { type LayerFiles, label, moduleExists, packageOf } from "./layer-files.js";
import { FINDING_CODES, type Finding } from "./types.js";

/** Tags pip/CPython use in extension module names: `cpython-311-x86_64-linux-gnu`, `abi3`, `pypy39-pp73-…`, `cp311-win_amd64`. */
const TAGGED_EXTENSION = /\.((?:cpython|pypy|cp)[^./]*|abi3)\.(so|pyd)$/;

export function checkPython(files: LayerFiles, target: Target): Finding[] {
  const findings: Finding[] = [];
  for (const distribution of files.distributions) {
    const base = { package: label(distribution), target: target.id };
    if (!distribution.hasRecord) {
      findings.push({
        ...base,
        code: FINDING_CODES.recordMissing,
        severity: "warning",
        message: `${distribution.distInfo} has no RECORD; importlib.metadata cannot list the files of ${label(distribution)} and no installer can uninstall or verify it`,
        hint: "Install the package from its wheel with a standards-following installer (pylayer build writes RECORD).",
        file: `${distribution.distInfo}/`,
      });
    } else if (distribution.recordError !== undefined) {
      findings.push({
        ...base,
        code: FINDING_CODES.recordMissing,
        severity: "warning",
        message: `${distribution.distInfo}/RECORD cannot be read: ${distribution.recordError}`,
        hint: "Reinstall the package from its wheel.",
        file: `${distribution.distInfo}/RECORD`,
      });
    }
    if (!distribution.hasMetadata) {
      findings.push({
        ...base,
        code: FINDING_CODES.metadataMissing,
        severity: "warning",
        message: `${distribution.distInfo} has no METADATA; importlib.metadata.version("${distribution.name}") fails`,
        hint: "Keep the dist-info folders complete (tools that slim layers by deleting them break packages that read their own metadata).",
        file: `${distribution.distInfo}/`,
      });
    }

    const missing = distribution.recordPaths.filter(
      (path) =>
        !files.byName.has(path) && !path.endsWith(".pyc") && !path.includes("/__pycache__/"),
    );
    const missingTopLevel = new Set<string>();
    for (const name of distribution.topLevelFromRecord) {
      if (!moduleExists(files, distribution.siteDir, name)) missingTopLevel.add(name);
    }
    for (const name of missingTopLevel) {
      findings.push({
        ...base,
        code: FINDING_CODES.topLevelMissing,
        severity: "error",
        message: `${label(distribution)} installs the top-level module ${name} (per its RECORD), but ${distribution.siteDir === "" ? "" : `${distribution.siteDir}/`}${name} is not in the layer; "import ${name}" fails`,
        hint: "The layer was trimmed or partly written; rebuild it.",
        file: `${distribution.siteDir === "" ? "" : `${distribution.siteDir}/`}${name}`,
      });
    }
    for (const name of distribution.topLevelFile ?? []) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || missingTopLevel.has(name)) continue;
      if (distribution.topLevelFromRecord.includes(name)) continue;
      if (moduleExists(files, distribution.siteDir, name)) continue;
      findings.push({
        ...base,
        code: FINDING_CODES.topLevelMissing,
        severity: "warning",
        message: `${label(distribution)} lists ${name} in top_level.txt, but no module ${name} is in ${distribution.siteDir === "" ? "the zip root" : distribution.siteDir}`,
        hint: `top_level.txt is informational and sometimes stale; if the package documents \`import ${name}\`, rebuild the layer.`,
        file: `${distribution.distInfo}/top_level.txt`,
      });
    }
    if (missing.length > 0) {
      findings.push({
        ...base,
        code: FINDING_CODES.recordFileMissing,
        severity: "warning",
        message: `${missing.length === 1 ? "1 file" : `${missing.length} files`} listed in the RECORD of ${label(distribution)} ${missing.length === 1 ? "is" : "are"} not in the layer (e.g. ${missing[0]})`,
        hint: "Something deleted files after installation; rebuild the layer if the package needs them.",
        file: missing[0],
        details: { files: missing.length, examples: missing.slice(0, 5) },
      });
    }
  }

  // Two distributions writing one file: the later install overwrote the earlier one.
  const overwrites = new Map<string, { packages: string[]; paths: string[] }>();
  for (const [path, owners] of files.owners) {
    if (owners.length < 2) continue;
    const packages = owners.map(label);
    const key = packages.join(" and ");
    const group = overwrites.get(key) ?? { packages, paths: [] };
    group.paths.push(path);
    overwrites.set(key, group);
  }
  for (const { packages, paths } of overwrites.values()) {
    paths.sort();
    findings.push({
      code: FINDING_CODES.fileOverwritten,
      severity: "warning",
      message: `${paths.length === 1 ? `${paths[0]} is` : `${paths.length} files (e.g. ${paths[0]}) are`} written by ${packages.join(" and ")}; only one version survives, so one of them may be broken`,
      hint: "Keep only one of these distributions (they often are forks of one project, e.g. opencv-python and opencv-python-headless).",
      file: paths[0],
      package: packages.join(", "),
      target: target.id,
      details: { packages, files: paths.length, examples: paths.slice(0, 5) },
    });
  }

  // Extension module names.
  const [major, minor] = target.runtime.python;
  const expectedTag = `cpython-${major}${minor}-${wheelMachine(target.architecture)}-linux-gnu`;
  for (const entry of files.files) {
    const base = posix.basename(entry.name);
    if (/\.(pyd|dylib)$/.test(base)) {
      findings.push({
        code: FINDING_CODES.foreignExtension,
        severity: "warning",
        message: `${entry.name} is a ${base.endsWith(".pyd") ? "Windows extension module" : "macOS library"}; Linux never loads it`,
        hint: "A wheel for another OS was installed; build the layer from manylinux wheels.",
        file: entry.name,
        package: packageOf(files, entry.name),
        target: target.id,
      });
      continue;
    }
    const match = TAGGED_EXTENSION.exec(base);
    if (match === null || match[2] !== "so") continue;
    const tag = match[1]!;
    if (tag === "abi3" || tag === expectedTag) continue;
    findings.push({
      code: FINDING_CODES.extensionAbiMismatch,
      severity: "error",
      message: `${entry.name} is an extension module for ${describeTag(tag)}; ${target.runtime.name} on ${target.architecture} only loads *.${expectedTag}.so, *.abi3.so and untagged *.so, so "import" does not find it`,
      hint: `Build the layer for ${target.runtime.name} ${target.architecture}: the wheels must be tagged cp${major}${minor} (or abi3) and ${wheelMachine(target.architecture)}.`,
      file: entry.name,
      package: packageOf(files, entry.name),
      target: target.id,
      details: { tag, expected: [expectedTag, "abi3"] },
    });
  }
  return findings;
}

function describeTag(tag: string): string {
  const cpython = /^cpython-(\d)(\d+)([a-z]*)-(.+)$/.exec(tag);
  if (cpython !== null) {
    const flags =
      cpython[3] === ""
        ? ""
        : ` (${cpython[3]!.includes("t") ? "free-threaded" : cpython[3]!.includes("d") ? "debug" : cpython[3]} build)`;
    return `CPython ${cpython[1]}.${cpython[2]}${flags} on ${cpython[4]}`;
  }
  return tag;
}
