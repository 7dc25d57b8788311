/**
 * The install plan of one wheel into a layer layout (binary distribution format spec,
 * "Installing a wheel"; RECORD per PEP 376; scripts per the entry points spec).
 *
 * Planning reads only METADATA, WHEEL, RECORD, entry_points.txt, top_level.txt and the
 * `#!python` scripts; every other file becomes a raw copy of its compressed bytes. Per-file
 * hashes in RECORD are not re-verified (as uv does not): the whole wheel's sha256 is
 * checked when it is downloaded, which authenticates every byte of it, and copied entries
 * keep their CRC-32. Their RECORD hash and size are reused in the installed RECORD.
 */
import { posix } from "node:path";
import { PylayerError } from "../errors.js";
import type { PlannedEntry, ZipEntry, ZipReader } from "../zip/index.js";
import { parseScriptEntryPoints } from "./entry-points.js";
import type { Layout } from "./layout.js";
import { parseWheelInfo, readWheelMetadata } from "./metadata.js";
import { formatRecord, parseRecord, type RecordRow, recordHash } from "./record.js";
import { entryPointScript, hasPythonShebang, rewritePythonScript } from "./scripts.js";

export interface InstallPlan {
  name: string;
  version: string;
  /** Zip path of the installed dist-info folder. */
  distInfo: string;
  /** Files to write, sorted by name. */
  entries: PlannedEntry[];
  /** Wheel entries deliberately left out, with the reason. */
  skipped: { path: string; reason: string }[];
  /** Top-level importable names (packages and modules), sorted. */
  topLevel: string[];
  /** What the user should be told (a script skipped for its name). */
  warnings: string[];
  /**
   * Whether the plan wrote launchers naming the layout's `pythonExecutable` (console/GUI
   * scripts, `#!python` scripts). When false, the plan is the same for every interpreter.
   */
  namesInterpreter: boolean;
}

/** Files of the wheel's dist-info that pylayer writes itself or drops. */
const SIGNATURE_FILES = new Set(["RECORD.jws", "RECORD.p7s"]);

const SCHEMES = ["purelib", "platlib", "scripts", "data", "headers"] as const;

/**
 * Plans the installation of the wheel at `wheelPath` (already opened as `reader`) into
 * `layout`. Throws `unsafe-wheel` for entries that could escape the layer (absolute paths,
 * drive letters, `..` segments, backslashes, symbolic links) and `invalid-wheel` for
 * structural problems (no RECORD, files missing from RECORD, unknown `.data` schemes,
 * two files installed to one path).
 */
export async function planWheelInstall(
  wheelPath: string,
  reader: ZipReader,
  layout: Layout,
  options: {
    /** Written to INSTALLER; default "pylayer". */
    installer?: string;
    /** The wheel's file name when `wheelPath` does not end in it (e.g. a cache path). */
    wheelFilename?: string;
  } = {},
): Promise<InstallPlan> {
  const wheelFilename = options.wheelFilename ?? posix.basename(wheelPath.replaceAll("\\", "/"));
  for (const entry of reader.entries) checkEntrySafety(entry, wheelFilename);
  checkDuplicates(reader.entries, wheelFilename);

  const { core, distInfo } = await readWheelMetadata(reader, wheelFilename);
  const readText = async (name: string): Promise<string | undefined> => {
    const entry = reader.getEntry(`${distInfo}/${name}`);
    return entry === undefined ? undefined : (await reader.read(entry)).toString("utf8");
  };
  const wheelText = await readText("WHEEL");
  if (wheelText === undefined) throw invalidWheel(wheelFilename, `it has no ${distInfo}/WHEEL`);
  parseWheelInfo(wheelText, `${wheelFilename}: ${distInfo}/WHEEL`);
  const recordText = await readText("RECORD");
  if (recordText === undefined) {
    throw invalidWheel(wheelFilename, `it has no ${distInfo}/RECORD, which wheels must have`);
  }
  const record = new Map<string, RecordRow>();
  for (const row of parseRecord(recordText, `${wheelFilename}: ${distInfo}/RECORD`)) {
    record.set(row.path, row);
  }

  const dataFolder = `${distInfo.slice(0, -".dist-info".length)}.data`;
  const siteDistInfo = posix.join(layout.siteDir, distInfo);
  const planned = new Map<string, { entry: PlannedEntry; origin: string; row: RecordRow }>();
  const skipped: { path: string; reason: string }[] = [];
  const place = (name: string, entry: PlannedEntry, origin: string, row: RecordRow) => {
    const existing = planned.get(name);
    if (existing !== undefined) {
      throw invalidWheel(
        wheelFilename,
        `${existing.origin} and ${origin} would both be installed as ${name}`,
      );
    }
    planned.set(name, { entry, origin, row });
  };
  const recordedRow = (entry: ZipEntry): RecordRow => {
    const row = record.get(entry.name);
    if (row === undefined || row.hash === "") {
      throw invalidWheel(wheelFilename, `${entry.name} is not listed with a hash in its RECORD`);
    }
    if (row.size !== undefined && row.size !== entry.uncompressedSize) {
      throw invalidWheel(
        wheelFilename,
        `RECORD gives ${entry.name} a size of ${row.size} bytes, but it has ${entry.uncompressedSize}`,
      );
    }
    return { path: "", hash: row.hash, size: entry.uncompressedSize };
  };
  const rawCopy = (name: string, entry: ZipEntry, mode: number) => {
    place(
      name,
      { name, mode, source: { kind: "zip", archivePath: wheelPath, entry } },
      entry.name,
      recordedRow(entry),
    );
  };
  const modeOf = (entry: ZipEntry) => (((entry.unixMode ?? 0) & 0o111) !== 0 ? 0o755 : 0o644);
  const dataScripts: { name: string; entry: ZipEntry }[] = [];

  for (const entry of reader.entries) {
    if (entry.isDirectory) continue;
    const [top, ...rest] = entry.name.split("/");
    if (top === distInfo) {
      const file = rest.join("/");
      if (file === "RECORD") {
        skipped.push({ path: entry.name, reason: "rewritten for the installed files" });
      } else if (file === "INSTALLER") {
        skipped.push({ path: entry.name, reason: "replaced by pylayer's INSTALLER" });
      } else if (SIGNATURE_FILES.has(file)) {
        skipped.push({
          path: entry.name,
          reason: "signs the wheel's RECORD, which is rewritten, so it could not verify",
        });
      } else {
        rawCopy(joinZipPath(layout.siteDir, entry.name), entry, modeOf(entry));
      }
      continue;
    }
    if (top === dataFolder) {
      const [scheme, ...schemePath] = rest;
      const path = schemePath.join("/");
      if (scheme === undefined || path === "" || !(SCHEMES as readonly string[]).includes(scheme)) {
        throw invalidWheel(
          wheelFilename,
          `${entry.name} is not in one of the ${dataFolder} schemes (${SCHEMES.join(", ")})`,
        );
      }
      switch (scheme) {
        case "purelib":
        case "platlib":
          rawCopy(joinZipPath(layout.siteDir, path), entry, modeOf(entry));
          break;
        case "data":
          rawCopy(joinZipPath(layout.dataDir, path), entry, modeOf(entry));
          break;
        case "headers":
          skipped.push({ path: entry.name, reason: "C headers are not needed at run time" });
          break;
        case "scripts":
          dataScripts.push({ name: joinZipPath(layout.binDir, path), entry });
          break;
      }
      continue;
    }
    // Root files go to the one site folder whether Root-Is-Purelib is true or false:
    // purelib and platlib are the same folder in a layer.
    rawCopy(joinZipPath(layout.siteDir, entry.name), entry, modeOf(entry));
  }

  // Console and GUI scripts; a `.data/scripts` file of the same name gives way to them, as
  // pip writes entry point scripts last.
  const entryPointsText = await readText("entry_points.txt");
  const entryPoints =
    entryPointsText === undefined
      ? []
      : parseScriptEntryPoints(entryPointsText, `${wheelFilename}: ${distInfo}/entry_points.txt`);
  const scriptNames = new Set<string>();
  const warnings: string[] = [];
  let namesInterpreter = false;
  for (const entryPoint of entryPoints) {
    if (!isSafeScriptName(entryPoint.name)) {
      throw new PylayerError(
        "unsafe-wheel",
        `${wheelFilename} declares a script named "${entryPoint.name}" in ${distInfo}/entry_points.txt`,
        { hint: "Script names must be plain file names; report it to the package's maintainers." },
      );
    }
    if (!SCRIPT_NAME.test(entryPoint.name)) {
      const shown = JSON.stringify(entryPoint.name);
      skipped.push({ path: `${distInfo}/entry_points.txt`, reason: `script ${shown} skipped` });
      warnings.push(
        `${wheelFilename}: the ${entryPoint.group} entry ${shown} was skipped: a script name must be letters, digits, "_", ".", "+" or "-" (no spaces or shell metacharacters)`,
      );
      continue;
    }
    const name = posix.join(layout.binDir, entryPoint.name);
    if (scriptNames.has(name)) {
      throw invalidWheel(wheelFilename, `it declares the script ${entryPoint.name} twice`);
    }
    scriptNames.add(name);
    const data = Buffer.from(entryPointScript(entryPoint, layout), "utf8");
    namesInterpreter = true;
    place(
      name,
      { name, mode: 0o755, source: { kind: "bytes", data, compress: false } },
      `${entryPoint.group} entry ${entryPoint.name}`,
      { path: "", hash: recordHash(data), size: data.length },
    );
  }
  for (const { name, entry } of dataScripts) {
    if (scriptNames.has(name)) {
      skipped.push({ path: entry.name, reason: "replaced by the entry point script of that name" });
      continue;
    }
    const contents = await reader.read(entry);
    if (hasPythonShebang(contents)) {
      const data = rewritePythonScript(contents, layout);
      namesInterpreter = true;
      place(
        name,
        { name, mode: 0o755, source: { kind: "bytes", data, compress: false } },
        entry.name,
        { path: "", hash: recordHash(data), size: data.length },
      );
    } else {
      rawCopy(name, entry, 0o755);
    }
  }

  // INSTALLER and the rewritten RECORD (paths relative to the site folder).
  const installerName = posix.join(siteDistInfo, "INSTALLER");
  const installer = Buffer.from(`${options.installer ?? "pylayer"}\n`, "utf8");
  place(
    installerName,
    {
      name: installerName,
      mode: 0o644,
      source: { kind: "bytes", data: installer, compress: false },
    },
    "INSTALLER",
    { path: "", hash: recordHash(installer), size: installer.length },
  );
  const recordName = posix.join(siteDistInfo, "RECORD");
  const rows: RecordRow[] = [...planned.entries()].map(([name, { row }]) => ({
    ...row,
    path: relativeZipPath(layout.siteDir, name),
  }));
  rows.push({ path: relativeZipPath(layout.siteDir, recordName), hash: "", size: undefined });
  rows.sort((left, right) => compareUtf8(left.path, right.path));
  const recordData = Buffer.from(formatRecord(rows), "utf8");
  place(
    recordName,
    { name: recordName, mode: 0o644, source: { kind: "bytes", data: recordData, compress: false } },
    "RECORD",
    { path: "", hash: "", size: undefined },
  );

  const entries = [...planned.values()]
    .map(({ entry }) => entry)
    .sort((left, right) => compareUtf8(left.name, right.name));
  const topLevelText = await readText("top_level.txt");
  return {
    name: core.name,
    version: core.version,
    distInfo: siteDistInfo,
    entries,
    skipped,
    warnings,
    namesInterpreter,
    topLevel:
      topLevelText === undefined
        ? deriveTopLevel(entries, layout.siteDir, distInfo, dataFolder)
        : parseTopLevel(topLevelText),
  };
}

/**
 * `folder/path` for zip paths already checked by `checkEntrySafety` (no empty, `.` or
 * `..` segments), where `posix.join`'s normalization has nothing to do; "" is the root.
 */
function joinZipPath(folder: string, path: string): string {
  return folder === "" ? path : `${folder}/${path}`;
}

/** `path` relative to `folder` (a RECORD path), without normalization when it is inside. */
function relativeZipPath(folder: string, path: string): string {
  if (folder === "") return path;
  return path.startsWith(`${folder}/`)
    ? path.slice(folder.length + 1)
    : posix.relative(folder, path);
}

/**
 * Orders strings as their UTF-8 bytes would (the zip and RECORD order) without encoding
 * them: UTF-16 code units compare like code points except that surrogates (U+D800–DFFF,
 * which encode code points above U+FFFF) must sort after U+E000–FFFF.
 */
export function compareUtf8(left: string, right: string): number {
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index++) {
    const a = left.charCodeAt(index);
    const b = right.charCodeAt(index);
    if (a === b) continue;
    if (a >= 0xd800 && b >= 0xd800) {
      const shift = (unit: number) => (unit >= 0xe000 ? unit - 0x800 : unit + 0x2000);
      return shift(a) - shift(b);
    }
    return a - b;
  }
  return left.length - right.length;
}

function checkEntrySafety(entry: ZipEntry, wheelFilename: string): void {
  const unsafe = (reason: string) =>
    new PylayerError("unsafe-wheel", `${wheelFilename} contains "${entry.name}", which ${reason}`, {
      hint: "pylayer refuses wheels that could write outside the layer; report it to the package's maintainers.",
    });
  const name = entry.name;
  if (name.startsWith("/")) throw unsafe("is an absolute path");
  if (/^[A-Za-z]:/.test(name)) throw unsafe("starts with a drive letter");
  if (name.includes("\\")) throw unsafe("contains a backslash");
  if (name.includes("\0")) throw unsafe("contains a NUL character");
  const segments = (name.endsWith("/") ? name.slice(0, -1) : name).split("/");
  if (segments.includes("..")) throw unsafe("contains a '..' segment");
  if (segments.some((segment) => segment === "" || segment === ".")) {
    throw unsafe("has an empty or '.' path segment");
  }
  if (entry.isSymlink) throw unsafe("is a symbolic link");
}

function checkDuplicates(entries: readonly ZipEntry[], wheelFilename: string): void {
  const seen = new Set<string>();
  for (const entry of entries) {
    if (seen.has(entry.name)) {
      throw invalidWheel(wheelFilename, `it contains ${entry.name} more than once`);
    }
    seen.add(entry.name);
  }
}

/**
 * The script names installed into `bin/`: letters and digits of any script, `_`, `.`, `+`
 * and `-`, not starting with `.`, `+` or `-`. A name with shell metacharacters (`x;id`,
 * `$(id)`), spaces or control characters would be a trap for anyone who lists, completes
 * or scripts over `bin/`; such entries are skipped with a warning.
 */
const SCRIPT_NAME = /^[\p{L}\p{N}_][\p{L}\p{N}\p{M}_.+-]*$/u;

/** Names that would escape `bin/`: refused with the wheel, like any other escaping path. */
function isSafeScriptName(name: string): boolean {
  return (
    name !== "" &&
    name !== "." &&
    name !== ".." &&
    !name.includes("/") &&
    !name.includes("\\") &&
    !name.includes("\0")
  );
}

function parseTopLevel(text: string): string[] {
  const names = new Set<string>();
  for (const line of text.split(/\r\n|\n|\r/)) {
    const name = line.trim();
    if (name !== "") names.add(name);
  }
  return [...names].sort();
}

const IDENTIFIER = /^[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*$/u;
/** `name.py`, `name.cpython-311-x86_64-linux-gnu.so`, `name.abi3.so`, `name.so`. */
const MODULE_FILE = /^([^.]+)(\.py|(\.[A-Za-z0-9_-]+)?\.so)$/;

/**
 * Top-level importable names when there is no top_level.txt: packages (folders holding
 * Python or extension modules, with or without `__init__.py`, so namespace packages count)
 * and top-level modules, from the files installed in the site folder.
 */
function deriveTopLevel(
  entries: readonly PlannedEntry[],
  siteDir: string,
  distInfo: string,
  dataFolder: string,
): string[] {
  const names = new Set<string>();
  const prefix = siteDir === "" ? "" : `${siteDir}/`;
  for (const entry of entries) {
    if (!entry.name.startsWith(prefix)) continue;
    const segments = entry.name.slice(prefix.length).split("/");
    const top = segments[0]!;
    if (top === distInfo || top === dataFolder || top === "__pycache__") continue;
    const leaf = segments[segments.length - 1]!;
    const module = MODULE_FILE.exec(leaf);
    if (module === null) continue;
    const name = segments.length === 1 ? module[1]! : top;
    if (IDENTIFIER.test(name)) names.add(name);
  }
  return [...names].sort();
}

function invalidWheel(wheelFilename: string, reason: string): PylayerError {
  return new PylayerError("invalid-wheel", `${wheelFilename} is not a valid wheel: ${reason}`, {
    hint: "Report the broken wheel to the package's maintainers, or pick another version.",
  });
}
