/**
 * Layout checks: are the files where Lambda's Python of the target looks for them?
 *
 * Lambda extracts a layer to /opt and puts /opt/python/lib/python3.X/site-packages and
 * /opt/python on sys.path (AWS Lambda developer guide, "Packaging your layer content",
 * layer paths for Python). Bytecode: PEP 3147 (`__pycache__/<name>.<tag>.pyc`) and PEP 552
 * (the flags word after the magic number: 0 means timestamp-based invalidation).
 */
import { posix } from "node:path";
import { ReadBudget } from "../files.js";
import type { Target } from "../runtime/index.js";
import { type LayerFiles, lambdaSiteDirs, moduleNameOfFile, packageOf } from "./layer-files.js";
import { FINDING_CODES, type Finding } from "./types.js";

/** Top-level folders of a layer that are not Python packages by design (`/opt/bin`, `/opt/lib`, …). */
const NON_PYTHON_ROOTS = new Set(["bin", "lib", "lib64", "share", "etc", "include", "man"]);

export async function checkLayout(files: LayerFiles, target: Target): Promise<Finding[]> {
  const findings: Finding[] = [];
  const [major, minor] = target.runtime.python;
  const ownSitePackages = `python/lib/python${major}.${minor}/site-packages`;
  const tag = `cpython-${major}${minor}`;

  // Packages and modules at the zip root: /opt itself is not on sys.path.
  const rootNames = new Map<string, string>();
  for (const entry of files.files) {
    const parts = entry.name.split("/");
    const first = parts[0]!;
    if (first === "python" || NON_PYTHON_ROOTS.has(first)) continue;
    if (parts.length === 1) {
      const module = moduleNameOfFile(first);
      if (module !== undefined && !rootNames.has(module)) rootNames.set(module, entry.name);
    } else if (first.endsWith(".dist-info") || (parts.length === 2 && parts[1] === "__init__.py")) {
      if (!rootNames.has(first)) rootNames.set(first, entry.name);
    }
  }
  for (const [name, example] of rootNames) {
    findings.push({
      code: FINDING_CODES.layoutRootPackage,
      severity: "warning",
      message: `${name} is at the root of the zip, which Lambda extracts to /opt; Python does not look there, so it cannot be imported`,
      hint: "Put Python packages under python/ (or python/lib/python3.X/site-packages/); rebuild the layer with pylayer build.",
      file: example,
      target: target.id,
    });
  }

  // site-packages of other Python versions: only python3.X's own is on sys.path.
  const otherVersions = new Map<string, number>();
  for (const entry of files.files) {
    const match = /^python\/lib\/(python\d+\.\d+)\/site-packages\//.exec(entry.name);
    if (match === null || entry.name.startsWith(`${ownSitePackages}/`)) continue;
    otherVersions.set(match[1]!, (otherVersions.get(match[1]!) ?? 0) + 1);
  }
  for (const [version, count] of otherVersions) {
    findings.push({
      code: FINDING_CODES.layoutOtherPythonVersion,
      severity: "warning",
      message: `${count === 1 ? "1 file is" : `${count} files are`} under python/lib/${version}/site-packages, which ${target.runtime.name} never reads (it reads ${ownSitePackages})`,
      hint: `Rebuild the layer for ${target.runtime.name}, or use the python/ layout that every Python runtime reads (pylayer build --layout python).`,
      file: `python/lib/${version}/site-packages/`,
      target: target.id,
      details: { pythonVersion: version.slice("python".length), files: count },
    });
  }

  // Is anything importable at all from the folders Lambda reads?
  const siteDirs = lambdaSiteDirs(target.runtime);
  const importable = files.files.some((entry) =>
    siteDirs.some((siteDir) => {
      if (!entry.name.startsWith(`${siteDir}/`)) return false;
      const rest = entry.name.slice(siteDir.length + 1);
      if (siteDir === "python" && rest.startsWith("lib/")) return false;
      const first = rest.split("/")[0]!;
      return rest.includes("/")
        ? /^[A-Za-z_][A-Za-z0-9_]*$/.test(first) && /\.(py|pyc|so)$/.test(entry.name)
        : moduleNameOfFile(rest) !== undefined || rest.endsWith(".pth");
    }),
  );
  if (!importable) {
    findings.push({
      code: FINDING_CODES.layoutNothingImportable,
      severity: "error",
      message: `no Python module is in python/ or ${ownSitePackages}, the only folders of a layer ${target.runtime.name} imports from`,
      hint: "Lay the zip out as python/<package>/… (or python/lib/python3.X/site-packages/<package>/…) and rebuild it.",
      target: target.id,
    });
  }

  // Bytecode: caches for other interpreters, and timestamp-based pycs.
  const otherCaches = new Map<string, { count: number; example: string }>();
  const ownPycs: { name: string; entry: (typeof files.files)[number] }[] = [];
  for (const entry of files.files) {
    if (!entry.name.endsWith(".pyc")) continue;
    const base = posix.basename(entry.name);
    if (posix.basename(posix.dirname(entry.name)) === "__pycache__") {
      const match = /^[^.]+\.([a-z]+-\d+[a-z]*)(?:\.opt-\d+)?\.pyc$/.exec(base);
      const cacheTag = match?.[1];
      if (cacheTag !== undefined && cacheTag !== tag) {
        const existing = otherCaches.get(cacheTag);
        if (existing === undefined) otherCaches.set(cacheTag, { count: 1, example: entry.name });
        else existing.count++;
        continue;
      }
    }
    ownPycs.push({ name: entry.name, entry });
  }
  for (const [cacheTag, { count, example }] of otherCaches) {
    findings.push({
      code: FINDING_CODES.pycacheOtherVersion,
      severity: "warning",
      message: `${count === 1 ? "1 .pyc file is" : `${count} .pyc files are`} compiled for ${cacheTag}; ${target.runtime.name} (${tag}) ignores them, they only take space`,
      hint: "Build the layer without bytecode (pylayer build ships none), or compile it with the runtime's Python version.",
      file: example,
      target: target.id,
      details: { tag: cacheTag, files: count },
    });
  }

  const timestampBased: string[] = [];
  await forEachLimited(ownPycs, 8, async ({ name, entry }) => {
    if (entry.isSymlink || entry.uncompressedSize < 16) return;
    const flags =
      files.facts.get(name)?.pycFlags ?? (await files.reader.read(entry)).readUInt32LE(4);
    // PEP 552: bit 0 of the flags word set means hash-based; 0 means timestamp-based.
    if ((flags & 1) === 0) timestampBased.push(name);
  });
  if (timestampBased.length > 0) {
    timestampBased.sort();
    const example = timestampBased[0]!;
    findings.push({
      code: FINDING_CODES.timestampPyc,
      severity: "warning",
      message: `${timestampBased.length === 1 ? "1 .pyc file uses" : `${timestampBased.length} .pyc files use`} timestamp-based invalidation: Python only trusts such files when the source's modification time matches the one they record, which zip timestamps rarely preserve (pylayer's are fixed), so they are recompiled on every cold start, and read-only /opt never caches the result`,
      hint: "Rebuild with pylayer build --compile (hash-based .pyc files, PEP 552) or --slim (drops stale .pyc files); outside pylayer, compile with `python3.X -m compileall --invalidation-mode unchecked-hash`.",
      file: example,
      package: packageOf(files, example),
      target: target.id,
      details: { files: timestampBased.length },
    });
  }
  return findings;
}

/** Runs `task` over `items` with at most `limit` running at once. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index]!, index);
    }
  });
  await Promise.all(workers);
}

/** Bytes of entries read at once by the check (beyond the first): bounds its memory. */
export const READ_BUDGET = 64 * 1024 * 1024;

/** The budget every read of the check shares unless a caller passes its own. */
export const sharedReadBudget = new ReadBudget(READ_BUDGET);

/**
 * Runs `task` over `items`, at most `limit` at once and within `budget`: the `weight`s of
 * the items running at once stay within its limit, counted with every other loop sharing
 * the same budget (an item heavier than the limit runs when nothing else holds any).
 */
export async function forEachWeighted<T>(
  items: readonly T[],
  weight: (item: T) => number,
  task: (item: T, index: number) => Promise<void>,
  limit = 8,
  budget: ReadBudget = sharedReadBudget,
): Promise<void> {
  await forEachLimited(items, limit, async (item, index) => {
    const cost = weight(item);
    await budget.acquire(cost);
    try {
      await task(item, index);
    } finally {
      budget.release(cost);
    }
  });
}
