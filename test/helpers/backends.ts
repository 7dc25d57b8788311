/**
 * Build backends and sdists for source-build tests, produced on this machine without any
 * package index: setuptools from the `ensurepip` bundle of a local Python, `wheel` (which
 * setuptools < 70.1 needs to build wheels) repacked from a Python that has it installed,
 * and sdists written as tar.gz here. The wheels are served by the loopback index like any
 * other test wheel, so builds resolve them through pylayer's own resolver.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { access, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { unzipSync } from "fflate";
import type { BuiltWheel } from "./wheels.js";

const execFileAsync = promisify(execFile);

/** Every `python3.X`/`python3` executable on PATH, in PATH order. */
export async function pythonsOnPath(): Promise<string[]> {
  const names = ["python3.11", "python3.12", "python3.13", "python3.10", "python3.9", "python3"];
  const found: string[] = [];
  for (const name of names) {
    for (const folder of (process.env.PATH ?? "").split(delimiter)) {
      if (folder === "") continue;
      const path = join(folder, name);
      try {
        await access(path, constants.X_OK);
        await execFileAsync(path, ["-c", "pass"], { timeout: 30_000 });
        found.push(path);
      } catch {
        // Missing, or a pyenv shim for a version that is not selected.
      }
    }
  }
  return found;
}

async function pythonOutput(
  python: string,
  script: string,
  args: string[] = [],
): Promise<string | null> {
  try {
    const { stdout } = await execFileAsync(python, ["-c", script, ...args], { timeout: 120_000 });
    return stdout.trim();
  } catch {
    return null;
  }
}

function wheelMetadataText(bytes: Uint8Array): string | undefined {
  const entries = unzipSync(bytes, {
    filter: (file) => /^[^/]+\.dist-info\/METADATA$/.test(file.name),
  });
  const data = Object.values(entries)[0];
  return data === undefined ? undefined : new TextDecoder().decode(data);
}

function asBuiltWheel(
  filename: string,
  bytes: Uint8Array,
  name: string,
  version: string,
): BuiltWheel {
  return {
    filename,
    bytes,
    // The wheel's own METADATA, so that the index serves its Requires-Dist (PEP 658).
    metadata:
      wheelMetadataText(bytes) ?? `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    spec: { name, version },
  };
}

/** The setuptools wheel bundled with a local Python's ensurepip, or null. */
export async function bundledSetuptools(pythons: readonly string[]): Promise<BuiltWheel | null> {
  for (const python of pythons) {
    const path = await pythonOutput(
      python,
      "import ensurepip, glob, os; print(sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), '_bundled', 'setuptools-*.whl')))[-1])",
    );
    if (path === null || path === "") continue;
    const filename = path.split("/").pop()!;
    const version = filename.split("-")[1]!;
    return asBuiltWheel(filename, await readFile(path), "setuptools", version);
  }
  return null;
}

/**
 * Repacks an installed distribution as a pure wheel: the files its RECORD lists (those
 * inside site-packages; scripts outside it and bytecode are left out), or, for an
 * egg-info copy without RECORD, the packages its `top_level.txt` names. Works for
 * pip-installed and distribution-packaged (Debian) copies alike. argv: name, output
 * folder, and a comma-separated list of Requires-Dist names to leave out of METADATA.
 */
const REPACK = `
import base64, hashlib, importlib.metadata as md, importlib.util, os, re, sys, zipfile
name, out, drop = sys.argv[1], sys.argv[2], set(filter(None, sys.argv[3].split(",")))
dist = md.distribution(name)
version = dist.version
files = {}
for entry in dist.files or []:
    path = str(entry)
    head = path.split("/")[0]
    if path.startswith("..") or head.endswith((".dist-info", ".egg-info", ".data")):
        continue
    if "__pycache__" in path.split("/") or path.endswith(".pyc"):
        continue
    located = str(dist.locate_file(entry))
    if os.path.isfile(located):
        files[path] = open(located, "rb").read()
if not files:
    for module in (dist.read_text("top_level.txt") or "").split():
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            continue
        if spec.submodule_search_locations:
            root = list(spec.submodule_search_locations)[0]
            base = os.path.dirname(root)
            for folder, dirs, names in os.walk(root):
                dirs[:] = [d for d in dirs if d != "__pycache__"]
                for n in names:
                    if not n.endswith(".pyc"):
                        path = os.path.join(folder, n)
                        files[os.path.relpath(path, base)] = open(path, "rb").read()
        else:
            files[os.path.basename(spec.origin)] = open(spec.origin, "rb").read()
tag = "py3-none-any"
stem = "%s-%s" % (re.sub(r"[-_.]+", "_", name), version)
distinfo = stem + ".dist-info"
meta = dist.read_text("METADATA") or dist.read_text("PKG-INFO")
def kept(line):
    if not line.startswith("Requires-Dist:"):
        return True
    requirement = re.match(r"[A-Za-z0-9._-]+", line[len("Requires-Dist:"):].strip()).group(0)
    return re.sub(r"[-_.]+", "-", requirement).lower() not in drop
meta = "".join(line for line in meta.splitlines(True) if kept(line))
files[distinfo + "/METADATA"] = meta.encode()
files[distinfo + "/WHEEL"] = ("Wheel-Version: 1.0\\nGenerator: pylayer-tests\\nRoot-Is-Purelib: true\\nTag: %s\\n" % tag).encode()
entry_points = dist.read_text("entry_points.txt")
if entry_points:
    files[distinfo + "/entry_points.txt"] = entry_points.encode()
record = []
for path, data in sorted(files.items()):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
record.append(distinfo + "/RECORD,,")
files[distinfo + "/RECORD"] = ("\\n".join(record) + "\\n").encode()
filename = "%s-%s.whl" % (stem, tag)
with zipfile.ZipFile(os.path.join(out, filename), "w", zipfile.ZIP_DEFLATED) as archive:
    for path, data in sorted(files.items()):
        info = zipfile.ZipInfo(path, (1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, data)
print(filename)
`;

/**
 * `distribution` repacked from the first Python in `pythons` that has it installed, or
 * null. `dropRequirements` names Requires-Dist entries left out of its METADATA.
 */
export async function repackInstalled(
  pythons: readonly string[],
  distribution: string,
  dropRequirements: readonly string[] = [],
): Promise<BuiltWheel | null> {
  for (const python of pythons) {
    const folder = await mkdtemp(join(tmpdir(), "pylayer-repack-"));
    try {
      const filename = await pythonOutput(python, REPACK, [
        distribution,
        folder,
        dropRequirements.join(","),
      ]);
      if (filename === null || !filename.endsWith(".whl")) continue;
      const version = filename.split("-")[1]!;
      return asBuiltWheel(filename, await readFile(join(folder, filename)), distribution, version);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }
  return null;
}

/**
 * The PEP 517 backends besides setuptools that tests build with, each with the
 * distributions its wheel needs at build time. Debian packages them (`python3-hatchling`,
 * `flit` for flit_core, `python3-poetry-core`; `.ci/run` installs them) for
 * `/usr/bin/python3`. Debian's hatchling declares `editables`, which it imports only for
 * editable builds (never asked for by pylayer) and which Debian does not package: that
 * Requires-Dist is left out of the repacked METADATA.
 */
export const COMMON_BACKENDS = {
  hatchling: {
    distributions: ["hatchling", "packaging", "pathspec", "pluggy"],
    drop: ["editables"],
  },
  "flit-core": { distributions: ["flit_core"], drop: [] },
  "poetry-core": { distributions: ["poetry-core"], drop: [] },
} as const;

export type CommonBackend = keyof typeof COMMON_BACKENDS;

/**
 * Wheels of every backend of `COMMON_BACKENDS` (and their dependencies), repacked from a
 * local Python that has them (Debian's `/usr/bin/python3` first); `missing` names each
 * backend that could not be produced and why.
 */
export async function commonBackends(): Promise<{
  wheels: BuiltWheel[];
  missing: Partial<Record<CommonBackend, string>>;
}> {
  const pythons = [...new Set(["/usr/bin/python3", ...(await pythonsOnPath())])];
  const wheels = new Map<string, BuiltWheel>();
  const missing: Partial<Record<CommonBackend, string>> = {};
  for (const [backend, { distributions, drop }] of Object.entries(COMMON_BACKENDS) as [
    CommonBackend,
    (typeof COMMON_BACKENDS)[CommonBackend],
  ][]) {
    for (const distribution of distributions) {
      if (wheels.has(distribution)) continue;
      const wheel = await repackInstalled(pythons, distribution, drop);
      if (wheel === null) {
        missing[backend] =
          `no local Python has ${distribution} installed (Debian: apt-get install python3-hatchling flit python3-poetry-core)`;
        break;
      }
      wheels.set(distribution, wheel);
    }
  }
  return { wheels: [...wheels.values()], missing };
}

/** setuptools and wheel, or a reason they cannot be produced on this machine. */
export async function setuptoolsBackend(): Promise<{ wheels: BuiltWheel[] } | { missing: string }> {
  const pythons = await pythonsOnPath();
  if (pythons.length === 0) return { missing: "no python3 on PATH" };
  const setuptools =
    (await bundledSetuptools(pythons)) ?? (await repackInstalled(pythons, "setuptools"));
  if (setuptools === null) return { missing: "no local Python bundles or has setuptools" };
  const wheels = [setuptools];
  // setuptools ≥ 70.1 builds wheels by itself; older ones ask for the wheel package.
  const major = Number(setuptools.spec.version.split(".")[0]);
  if (major < 71) {
    const wheel = await repackInstalled(pythons, "wheel");
    if (wheel === null)
      return {
        missing: `setuptools ${setuptools.spec.version} needs the wheel package, which no local Python has`,
      };
    wheels.push(wheel);
  }
  return { wheels };
}

/** A POSIX ustar header block for one regular file. */
function tarHeader(path: string, size: number, mode: number): Uint8Array {
  const header = new Uint8Array(512);
  const put = (text: string, offset: number, length: number) => {
    header.set(new TextEncoder().encode(text).subarray(0, length), offset);
  };
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, "0");
  let name = path;
  let prefix = "";
  if (name.length > 100) {
    const cut = name.lastIndexOf("/", 155);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  put(name, 0, 100);
  put(octal(mode, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(315532800, 12), 136, 12);
  put("        ", 148, 8);
  put("0", 156, 1);
  put("ustar\u000000", 257, 8);
  put(prefix, 345, 155);
  const checksum = header.reduce((sum, byte) => sum + byte, 0);
  put(`${octal(checksum, 7)}\u0000 `, 148, 8);
  return header;
}

/** A `.tar.gz` of `files` (paths inside the archive → contents). */
export function tarGz(files: Record<string, string | Uint8Array>): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const [path, content] of Object.entries(files)) {
    const data = typeof content === "string" ? new TextEncoder().encode(content) : content;
    blocks.push(
      tarHeader(path, data.length, 0o644),
      data,
      new Uint8Array((512 - (data.length % 512)) % 512),
    );
  }
  blocks.push(new Uint8Array(1024));
  return gzipSync(Buffer.concat(blocks));
}

export interface SdistSpec {
  name: string;
  version: string;
  /** Project files (pyproject.toml, setup.py, sources), relative to the project root. */
  files: Record<string, string>;
  /** PKG-INFO text; default Metadata-Version 2.1 with name and version only. */
  pkgInfo?: string;
}

/** `name-version.tar.gz` with everything under `name-version/`, as sdists are laid out. */
export function buildSdist(spec: SdistSpec): { filename: string; bytes: Uint8Array } {
  const stem = `${spec.name.replace(/[-.]+/g, "_").toLowerCase()}-${spec.version}`;
  const files: Record<string, string> = {
    [`${stem}/PKG-INFO`]:
      spec.pkgInfo ?? `Metadata-Version: 2.1\nName: ${spec.name}\nVersion: ${spec.version}\n`,
  };
  for (const [path, content] of Object.entries(spec.files)) files[`${stem}/${path}`] = content;
  return { filename: `${stem}.tar.gz`, bytes: tarGz(files) };
}

/**
 * A project with a minimal in-tree PEP 517 backend (`backend-path`), no build
 * requirements: it writes a pure wheel of `name` `version` with the given Requires-Dist
 * and one module. Fast, and needs nothing but a Python.
 */
export function inTreeProject(
  name: string,
  version: string,
  requires: string[] = [],
  moduleText = `VALUE = "${name} ${version}"\n`,
): Record<string, string> {
  const module = name.replace(/-/g, "_");
  const metadata = [
    "Metadata-Version: 2.1",
    `Name: ${name}`,
    `Version: ${version}`,
    ...requires.map((requirement) => `Requires-Dist: ${requirement}`),
  ].join("\\n");
  return {
    "pyproject.toml": `[build-system]\nrequires = []\nbuild-backend = "tiny_backend"\nbackend-path = ["_build"]\n\n[project]\nname = "${name}"\nversion = "${version}"\n`,
    [`${module}/__init__.py`]: moduleText,
    "_build/tiny_backend.py": `import base64, hashlib, os, zipfile

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {}
    for folder, _, names in os.walk("${module}"):
        for name in names:
            path = os.path.join(folder, name)
            files[path.replace(os.sep, "/")] = open(path, "rb").read()
    info = "${module}-${version}.dist-info"
    files[info + "/METADATA"] = "${metadata}\\n".encode()
    files[info + "/WHEEL"] = b"Wheel-Version: 1.0\\nGenerator: tiny\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    record = []
    for path, data in sorted(files.items()):
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
    files[info + "/RECORD"] = ("\\n".join(record + [info + "/RECORD,,"]) + "\\n").encode()
    filename = "${module}-${version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as archive:
        for path, data in sorted(files.items()):
            archive.writestr(zipfile.ZipInfo(path, (1980, 1, 1, 0, 0, 0)), data)
    return filename
`,
  };
}

/** Writes `files` (relative paths → text) under `folder`. */
export async function writeTree(folder: string, files: Record<string, string>): Promise<void> {
  const { mkdir, writeFile } = await import("node:fs/promises");
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(folder, path, ".."), { recursive: true });
    await writeFile(join(folder, path), content);
  }
}
