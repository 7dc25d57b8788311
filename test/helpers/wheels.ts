/**
 * Writes small but spec-shaped wheels (PEP 427 / PEP 491) for tests, with an
 * independent zip implementation (fflate) so that pylayer's own zip code is not
 * used to produce its test inputs.
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Zippable, zipSync } from "fflate";

export interface WheelSpec {
  name: string;
  version: string;
  /** Compressed tag set, e.g. `py3-none-any` (default) or `cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64`. */
  tag?: string;
  /** Optional build tag (`1`, `2abc`). */
  build?: string;
  /** `Requires-Dist` values, markers included. */
  requires?: string[];
  /** Extra name → its requirements (written as `Requires-Dist: x; extra == "name"`). */
  extras?: Record<string, string[]>;
  requiresPython?: string;
  /** Files relative to the wheel root. Default: `<module>/__init__.py` with `__version__`. */
  files?: Record<string, string | Uint8Array>;
  /** `.data` subfolders (`scripts`, `data`, `headers`, `purelib`, `platlib`) → files. */
  data?: Record<string, Record<string, string | Uint8Array>>;
  /** `console_scripts` / `gui_scripts` entry points: script name → `module:function`. */
  consoleScripts?: Record<string, string>;
  guiScripts?: Record<string, string>;
  /** Defaults to true for `none-any`-style tags, false otherwise. */
  rootIsPurelib?: boolean;
  /** Extra raw METADATA header lines. */
  metadataLines?: string[];
  /** Leave RECORD out (for negative tests). */
  omitRecord?: boolean;
  /** Raw extra zip entries with arbitrary names (for path-escape tests). */
  rawEntries?: Record<string, string | Uint8Array>;
  /**
   * POSIX `st_mode` (type and permission bits, e.g. 0o100755 or 0o120777 for a symbolic
   * link) of entries by their path in the wheel; written with the Unix host byte. Entries
   * not listed carry no mode, as before.
   */
  modes?: Record<string, number>;
}

export interface BuiltWheel {
  filename: string;
  bytes: Uint8Array;
  /** METADATA text, for PEP 658 `.metadata` files. */
  metadata: string;
  sha256: string;
  spec: WheelSpec;
}

/** Wheel filename escaping per the binary distribution format spec. */
export function escapeComponent(value: string): string {
  return value.replace(/[-_.]+/g, "_");
}

export function moduleName(distribution: string): string {
  return distribution.toLowerCase().replace(/[-.]+/g, "_");
}

function sha256Record(data: Uint8Array): string {
  return `sha256=${createHash("sha256").update(data).digest("base64url")}`;
}

const encoder = new TextEncoder();
const toBytes = (value: string | Uint8Array) =>
  typeof value === "string" ? encoder.encode(value) : value;

export function buildWheel(spec: WheelSpec): BuiltWheel {
  const tag = spec.tag ?? "py3-none-any";
  const distName = escapeComponent(spec.name);
  const buildPart = spec.build === undefined ? "" : `-${spec.build}`;
  const filename = `${distName}-${spec.version}${buildPart}-${tag}.whl`;
  const distInfo = `${distName}-${spec.version}.dist-info`;
  const dataDir = `${distName}-${spec.version}.data`;
  const rootIsPurelib = spec.rootIsPurelib ?? tag.endsWith("-none-any");

  const metadataLines = ["Metadata-Version: 2.1", `Name: ${spec.name}`, `Version: ${spec.version}`];
  if (spec.requiresPython !== undefined)
    metadataLines.push(`Requires-Python: ${spec.requiresPython}`);
  for (const requirement of spec.requires ?? [])
    metadataLines.push(`Requires-Dist: ${requirement}`);
  for (const [extra, requirements] of Object.entries(spec.extras ?? {})) {
    metadataLines.push(`Provides-Extra: ${extra}`);
    for (const requirement of requirements) {
      const [base, marker] = requirement.split(";", 2);
      const extraMarker = `extra == "${extra}"`;
      metadataLines.push(
        `Requires-Dist: ${base!.trim()}; ${marker === undefined ? extraMarker : `(${marker.trim()}) and ${extraMarker}`}`,
      );
    }
  }
  metadataLines.push(...(spec.metadataLines ?? []));
  const metadata = `${metadataLines.join("\n")}\n\n`;

  const files: Record<string, Uint8Array> = {};
  const sourceFiles = spec.files ?? {
    [`${moduleName(spec.name)}/__init__.py`]: `__version__ = "${spec.version}"\n`,
  };
  for (const [path, content] of Object.entries(sourceFiles)) files[path] = toBytes(content);
  for (const [scheme, schemeFiles] of Object.entries(spec.data ?? {})) {
    for (const [path, content] of Object.entries(schemeFiles)) {
      files[`${dataDir}/${scheme}/${path}`] = toBytes(content);
    }
  }
  files[`${distInfo}/METADATA`] = encoder.encode(metadata);
  files[`${distInfo}/WHEEL`] = encoder.encode(
    `Wheel-Version: 1.0\nGenerator: pylayer-tests\nRoot-Is-Purelib: ${rootIsPurelib}\n${expandTags(
      tag,
    )
      .map((expanded) => `Tag: ${expanded}\n`)
      .join("")}${spec.build === undefined ? "" : `Build: ${spec.build}\n`}`,
  );
  const entryPointSections: string[] = [];
  if (spec.consoleScripts !== undefined) {
    entryPointSections.push(
      `[console_scripts]\n${Object.entries(spec.consoleScripts)
        .map(([name, target]) => `${name} = ${target}`)
        .join("\n")}\n`,
    );
  }
  if (spec.guiScripts !== undefined) {
    entryPointSections.push(
      `[gui_scripts]\n${Object.entries(spec.guiScripts)
        .map(([name, target]) => `${name} = ${target}`)
        .join("\n")}\n`,
    );
  }
  if (entryPointSections.length > 0) {
    files[`${distInfo}/entry_points.txt`] = encoder.encode(entryPointSections.join("\n"));
  }
  if (!spec.omitRecord) {
    const record = Object.entries(files)
      .map(([path, content]) => `${path},${sha256Record(content)},${content.length}`)
      .concat(`${distInfo}/RECORD,,`)
      .join("\n");
    files[`${distInfo}/RECORD`] = encoder.encode(`${record}\n`);
  }
  for (const [path, content] of Object.entries(spec.rawEntries ?? {}))
    files[path] = toBytes(content);

  const zippable: Zippable = {};
  for (const [path, content] of Object.entries(files)) {
    // Fixed mtime keeps test wheels (and their hashes) stable from run to run.
    const mode = spec.modes?.[path];
    zippable[path] = [
      content,
      {
        mtime: new Date(2020, 0, 1),
        level: 6,
        ...(mode === undefined ? {} : { os: 3, attrs: (mode << 16) >>> 0 }),
      },
    ];
  }
  const bytes = zipSync(zippable);
  return {
    filename,
    bytes,
    metadata,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    spec,
  };
}

/** Expands a compressed tag set (`py2.py3-none-any`) into single tags. */
export function expandTags(tag: string): string[] {
  const [interpreters, abis, platforms] = tag.split("-");
  const result: string[] = [];
  for (const interpreter of interpreters!.split(".")) {
    for (const abi of abis!.split(".")) {
      for (const platform of platforms!.split("."))
        result.push(`${interpreter}-${abi}-${platform}`);
    }
  }
  return result;
}

/** Writes each wheel into `directory` and returns them. */
export async function writeWheels(directory: string, specs: WheelSpec[]): Promise<BuiltWheel[]> {
  await mkdir(directory, { recursive: true });
  const wheels = specs.map(buildWheel);
  await Promise.all(wheels.map((wheel) => writeFile(join(directory, wheel.filename), wheel.bytes)));
  return wheels;
}
