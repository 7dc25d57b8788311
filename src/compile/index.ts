/**
 * Bytecode for cold starts: `.pyc` files for the Python sources of a layer, written by
 * the local `python3.X` of the runtime's minor version.
 *
 * Lambda mounts layers read-only at `/opt`, so Python cannot cache bytecode there, and a
 * timestamp-based `.pyc` never validates against the fixed times of a deterministic zip:
 * without valid `.pyc` files every cold start compiles every imported module again. The
 * files written here are PEP 552 hash-based and *unchecked* (flags = 0b01): Python loads
 * them without reading or hashing the source, which is right for a read-only layer whose
 * sources never change. The source path stored in each code object (shown in tracebacks)
 * is the path the file has on Lambda (`/opt/python/...`), not the build machine's.
 *
 * The bytes depend on the exact Python build (the marshal format and compiler of the minor
 * version, and its patch release), so a zip built with `--compile` is reproducible on
 * machines with the same `python3.X`.
 */
import { execFile, spawn } from "node:child_process";
import { constants as fsConstants } from "node:fs";
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { delimiter, join, posix } from "node:path";
import { promisify } from "node:util";
import { PylayerError } from "../errors.js";
import {
  type AddedFile,
  type EntryReader,
  mapWithConcurrency,
  siteDirOf,
  updateRecords,
} from "../slim/layer-files.js";
import type { PlannedEntry } from "../zip/index.js";

const execFileAsync = promisify(execFile);

export interface LocalPython {
  /** Executable path. */
  path: string;
  /** `3.11`. */
  version: string;
  /** `sys.implementation.cache_tag`, e.g. `cpython-311`: the middle of `.pyc` names. */
  cacheTag: string;
  /** `sys.version` first word, e.g. `3.11.2`. */
  fullVersion: string;
}

/**
 * The local CPython of minor version `version` ("3.11"): the first `python3.11` on PATH
 * that reports that version. Throws `python-not-found` when there is none.
 */
export async function findPython(
  version: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LocalPython> {
  const name = `python${version}`;
  const folders = (env.PATH ?? "").split(delimiter).filter((folder) => folder !== "");
  for (const folder of folders) {
    const candidate = join(folder, name);
    try {
      await access(candidate, fsConstants.X_OK);
    } catch {
      continue;
    }
    try {
      const { stdout } = await execFileAsync(
        candidate,
        [
          "-I",
          "-c",
          "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2], sys.implementation.cache_tag, sys.version.split()[0])",
        ],
        { timeout: 30_000 },
      );
      const [implementation, reported, cacheTag, fullVersion] = stdout.trim().split(" ");
      if (implementation === "cpython" && reported === version && cacheTag && fullVersion) {
        return { path: candidate, version, cacheTag, fullVersion };
      }
    } catch {
      // Not runnable: try the next one.
    }
  }
  throw new PylayerError(
    "python-not-found",
    `--compile needs CPython ${version} to write bytecode for the python${version} runtime, and there is no ${name} on PATH`,
    {
      hint: `Install Python ${version} (your package manager, pyenv, or "uv python install ${version}") so that ${name} is on PATH, or build without --compile.`,
    },
  );
}

export interface CompileOptions {
  /** One local Python per runtime version the layer serves. */
  pythons: readonly LocalPython[];
  /** Where Lambda mounts the zip root; default `/opt`. */
  mountPoint?: string;
  /** Python processes run at once; default min(available CPUs, 4). */
  concurrency?: number;
}

export interface CompileFailure {
  /** Zip path of the source that did not compile (it ships without bytecode). */
  path: string;
  python: string;
  message: string;
}

export interface CompileResult {
  /** The entries with `.pyc` files added and RECORDs listing them. */
  entries: PlannedEntry[];
  compiled: { python: string; files: number; bytes: number }[];
  failures: CompileFailure[];
}

/** A Python source in a site folder: the files `compileall` would compile. */
export function isCompilable(name: string): boolean {
  if (!name.endsWith(".py")) return false;
  const siteDir = siteDirOf(name);
  if (siteDir === undefined) return false;
  const top = name.slice(siteDir.length + 1).split("/")[0]!;
  return !top.endsWith(".dist-info") && !top.endsWith(".data");
}

/** `a/b/c.py` → `a/b/__pycache__/c.cpython-311.pyc` (PEP 3147). */
export function bytecodePath(sourcePath: string, cacheTag: string): string {
  const folder = posix.dirname(sourcePath);
  const stem = posix.basename(sourcePath, ".py");
  return posix.join(folder, "__pycache__", `${stem}.${cacheTag}.pyc`);
}

/**
 * Adds unchecked-hash `.pyc` files for every Python source in a site folder of
 * `entries`, for each of `options.pythons`. Sources Python cannot compile (Python 2
 * leftovers, templates) keep no bytecode and are listed in `failures`, as pip does when
 * it compiles at install time. A `.pyc` already planned under the same name is replaced.
 */
export async function compileEntries(
  entries: readonly PlannedEntry[],
  read: EntryReader,
  options: CompileOptions,
): Promise<CompileResult> {
  const mountPoint = (options.mountPoint ?? "/opt").replace(/\/+$/, "");
  const sources = entries.filter((entry) => isCompilable(entry.name));
  if (sources.length === 0 || options.pythons.length === 0) {
    return { entries: [...entries], compiled: [], failures: [] };
  }
  const workFolder = await mkdtemp(join(tmpdir(), "pylayer-compile-"));
  try {
    const sourceFolder = join(workFolder, "src");
    const folders = new Map<string, Promise<unknown>>();
    await mapWithConcurrency(sources, 32, async (entry) => {
      const folder = join(sourceFolder, posix.dirname(entry.name));
      let created = folders.get(folder);
      if (created === undefined) {
        created = mkdir(folder, { recursive: true });
        folders.set(folder, created);
      }
      await created;
      await writeFile(join(sourceFolder, entry.name), await read(entry));
    });

    const added: AddedFile[] = [];
    const failures: CompileFailure[] = [];
    const compiled: CompileResult["compiled"] = [];
    for (const python of options.pythons) {
      const outputFolder = join(workFolder, `out-${python.cacheTag}`);
      const jobs = sources.map((entry) => ({
        entry,
        pycName: bytecodePath(entry.name, python.cacheTag),
      }));
      const failed = await runCompiler(
        python,
        jobs.map(({ entry, pycName }) => [
          join(sourceFolder, entry.name),
          join(outputFolder, pycName),
          `${mountPoint}/${entry.name}`,
        ]),
        options.concurrency ?? Math.min(availableParallelism(), 4),
      );
      const failedSources = new Map(failed.map((failure) => [failure.source, failure.message]));
      let bytes = 0;
      let files = 0;
      await mapWithConcurrency(jobs, 32, async ({ entry, pycName }) => {
        const message = failedSources.get(join(sourceFolder, entry.name));
        if (message !== undefined) {
          failures.push({ path: entry.name, python: python.version, message });
          return;
        }
        const data = await readFile(join(outputFolder, pycName));
        added.push({
          entry: { name: pycName, mode: 0o644, source: { kind: "bytes", data } },
          data,
          ownerPath: entry.name,
        });
        bytes += data.length;
        files++;
      });
      compiled.push({ python: python.version, files, bytes });
    }
    added.sort((left, right) => (left.entry.name < right.entry.name ? -1 : 1));
    failures.sort((left, right) =>
      left.path === right.path
        ? left.python.localeCompare(right.python)
        : left.path < right.path
          ? -1
          : 1,
    );
    const addedNames = new Set(added.map((file) => file.entry.name));
    const withoutReplaced = entries.filter((entry) => !addedNames.has(entry.name));
    const removed = new Set(
      entries.filter((entry) => addedNames.has(entry.name)).map((entry) => entry.name),
    );
    return {
      entries: await updateRecords(withoutReplaced, read, { removed, added }),
      compiled,
      failures,
    };
  } finally {
    await rm(workFolder, { recursive: true, force: true });
  }
}

/**
 * The compiler run by each Python process: reads `[source, pyc, display path]` jobs as
 * JSON from stdin and prints the failures as JSON. Warnings (invalid escapes…) are
 * silenced as compileall's quiet mode would; they do not stop compilation.
 */
const COMPILER_SCRIPT = `
import json, py_compile, sys, warnings
warnings.simplefilter("ignore")
mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
failures = []
for source, cfile, dfile in json.load(sys.stdin):
    try:
        py_compile.compile(source, cfile=cfile, dfile=dfile, doraise=True, invalidation_mode=mode)
    except py_compile.PyCompileError as error:
        failures.append([source, error.msg.strip().splitlines()[-1] if error.msg.strip() else "does not compile"])
    except (OSError, ValueError, UnicodeError) as error:
        failures.append([source, str(error)])
json.dump(failures, sys.stdout)
`;

async function runCompiler(
  python: LocalPython,
  jobs: readonly [string, string, string][],
  concurrency: number,
): Promise<{ source: string; message: string }[]> {
  // Contiguous chunks keep the files of one package in one process.
  const chunkCount = Math.max(1, Math.min(concurrency, Math.ceil(jobs.length / 200)));
  const chunkSize = Math.ceil(jobs.length / chunkCount);
  const chunks: (typeof jobs)[] = [];
  for (let start = 0; start < jobs.length; start += chunkSize) {
    chunks.push(jobs.slice(start, start + chunkSize));
  }
  const results = await Promise.all(chunks.map((chunk) => runCompilerProcess(python, chunk)));
  return results.flat();
}

function runCompilerProcess(
  python: LocalPython,
  jobs: readonly [string, string, string][],
): Promise<{ source: string; message: string }[]> {
  return new Promise((resolve, reject) => {
    // -I: ignore PYTHON* variables and the user's site folder; -B: no bytecode of its own.
    const child = spawn(python.path, ["-I", "-B", "-c", COMPILER_SCRIPT], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", (error) =>
      reject(
        new PylayerError("compile-failed", `could not run ${python.path}: ${error.message}`, {
          hint: "Check that this Python runs, or build without --compile.",
          cause: error,
        }),
      ),
    );
    child.on("close", (code) => {
      const output = Buffer.concat(stdout).toString("utf8");
      if (code !== 0) {
        const detail = Buffer.concat(stderr).toString("utf8").trim().split("\n").slice(-3);
        reject(
          new PylayerError(
            "compile-failed",
            `${python.path} (Python ${python.fullVersion}) failed while compiling the layer's sources: ${detail.join(" ")}`,
            { hint: "Check that this Python works, or build without --compile." },
          ),
        );
        return;
      }
      try {
        const failures = JSON.parse(output) as [string, string][];
        resolve(failures.map(([source, message]) => ({ source, message })));
      } catch (error) {
        reject(
          new PylayerError("compile-failed", `${python.path} printed an unexpected result`, {
            hint: "Check that this Python works, or build without --compile.",
            cause: error,
          }),
        );
      }
    });
    child.stdin.on("error", () => {
      // The process exited early; "close" reports it.
    });
    child.stdin.end(JSON.stringify(jobs));
  });
}
