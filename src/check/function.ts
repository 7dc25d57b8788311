/**
 * Checks of a function package (the zip Lambda extracts to `/var/task`) and of the layers
 * it runs with: the handler's module is there, source modules do not shadow a dependency's
 * top-level name, the function and its layers fit the 250 MiB unzipped limit together, and
 * a package present in more than one place has one version.
 *
 * sys.path on Lambda (AWS Lambda developer guide, "Working with layers for Python Lambda
 * functions"): /var/task, then /opt/python/lib/python3.X/site-packages, then /opt/python.
 * Layers are extracted into /opt in the order the function lists them, a later layer's
 * files replacing an earlier one's, so two layers installing one package into the same
 * folder leave a mix of both versions' files.
 */

import {
  DEFAULT_HANDLER,
  handlerModulePresent,
  parseHandler,
  topLevelModuleOf,
} from "../function/index.js";
import { normalizeName } from "../pep508/index.js";
import type { Target } from "../runtime/index.js";
import { formatBytes, formatPercent } from "../strings.js";
import { type LayerFiles, label, lambdaSiteDirs } from "./layer-files.js";
import { UNZIPPED_LIMIT } from "./sizes.js";
import { FINDING_CODES, type Finding } from "./types.js";

/** A layer checked with a function: its path as given and its files. */
export interface LayerInput {
  path: string;
  files: LayerFiles;
}

/** The handler a check looks for: the one named (explicit), else Lambda's default. */
export function chooseHandler(named: string | undefined): { handler: string; explicit: boolean } {
  return named === undefined
    ? { handler: DEFAULT_HANDLER, explicit: false }
    : { handler: named, explicit: true };
}

/**
 * Whether the handler's module is in the function package or, found through sys.path,
 * in one of its layers' site folders.
 */
export function handlerFound(
  files: LayerFiles,
  layers: readonly LayerInput[],
  target: Target,
  handlerSetting: string,
): boolean {
  const handler = parseHandler(handlerSetting);
  if (handlerModulePresent(handler, files.byName.keys())) return true;
  const siteDirs = lambdaSiteDirs(target.runtime);
  return layers.some((layer) =>
    siteDirs.some((siteDir) =>
      handlerModulePresent(
        handler,
        layer.files.files
          .filter((entry) => entry.name.startsWith(`${siteDir}/`))
          .map((entry) => entry.name.slice(siteDir.length + 1)),
      ),
    ),
  );
}

/** Zip paths of the function that no dist-info's RECORD lists: the function's own source. */
export function sourcePaths(files: LayerFiles): string[] {
  return files.files
    .map((entry) => entry.name)
    .filter(
      (name) =>
        !files.owners.has(name) &&
        !name.split("/")[0]!.endsWith(".dist-info") &&
        !name.includes("__pycache__/"),
    );
}

export function checkFunction(
  files: LayerFiles,
  target: Target,
  handlerChoice: { handler: string; explicit: boolean },
  layers: readonly LayerInput[],
): Finding[] {
  const findings: Finding[] = [];
  const handler = parseHandler(handlerChoice.handler);
  if (!handlerFound(files, layers, target, handlerChoice.handler)) {
    findings.push({
      code: FINDING_CODES.handlerNotFound,
      severity: handlerChoice.explicit ? "error" : "warning",
      message: handlerChoice.explicit
        ? `the handler ${handlerChoice.handler} needs the module ${handler.module}, but none of ${handler.candidates.join(", ")} is in the function package${layers.length > 0 ? " or its layers" : ""}; Lambda fails with Runtime.ImportModuleError`
        : `no handler was named and the function package has no ${handler.candidates[0]} for Lambda's default handler ${DEFAULT_HANDLER}`,
      hint: handlerChoice.explicit
        ? "Name the handler as MODULE.FUNCTION relative to the source folder (e.g. app.handler for app.py), or add the module to the source."
        : "Pass --handler MODULE.FUNCTION (the function's Handler setting) so that the check can verify it.",
      target: target.id,
      details: { handler: handlerChoice.handler, module: handler.module },
    });
  }

  // Source modules named like a dependency installed next to them.
  const dependencyNames = new Map<string, string>();
  for (const distribution of files.distributions) {
    if (distribution.siteDir !== "") continue;
    for (const name of distribution.topLevelFile ?? distribution.topLevelFromRecord) {
      if (!dependencyNames.has(name)) dependencyNames.set(name, label(distribution));
    }
    for (const name of distribution.topLevelFromRecord) {
      if (!dependencyNames.has(name)) dependencyNames.set(name, label(distribution));
    }
  }
  const reported = new Set<string>();
  for (const path of sourcePaths(files)) {
    const module = topLevelModuleOf(path);
    if (module === undefined || reported.has(module)) continue;
    const owner = dependencyNames.get(module);
    if (owner === undefined) continue;
    reported.add(module);
    findings.push({
      code: FINDING_CODES.sourceShadowsDependency,
      severity: "error",
      message: `the function's own ${path} defines the top-level module ${module}, which ${owner} installs too; both sit in /var/task, so one replaces the other on import`,
      hint: "Rename the source module (or move it into a package), or leave it out of the package (pylayer build --source-exclude).",
      file: path,
      package: owner,
      target: target.id,
    });
  }
  if (layers.length > 0) findings.push(...checkWithLayers(files, layers, target));
  return findings;
}

/** One copy of a distribution (or a source module) somewhere on sys.path. */
interface Copy {
  version: string | undefined;
  /** `the function`, `layer 2 (deps.zip)`. */
  place: string;
  /** The Lambda folder on sys.path: `/var/task`, `/opt/python/lib/python3.X/site-packages`, `/opt/python`. */
  folder: string;
  /** sys.path position of `folder` (0 first). */
  pathRank: number;
  /** 0 for the function, else the layer's position (1-based). */
  layer: number;
}

function checkWithLayers(
  files: LayerFiles,
  layers: readonly LayerInput[],
  target: Target,
): Finding[] {
  const findings: Finding[] = [];
  const functionSize = unzippedSize(files);
  const layerSizes = layers.map((layer) => unzippedSize(layer.files));
  const total = functionSize + layerSizes.reduce((sum, size) => sum + size, 0);
  const parts = [
    `function ${formatBytes(functionSize)}`,
    ...layerSizes.map((size, index) => `layer ${index + 1} ${formatBytes(size)}`),
  ].join(" + ");
  const details = {
    function: functionSize,
    layers: layers.map((layer, index) => ({ path: layer.path, unzipped: layerSizes[index] })),
    total,
    limit: UNZIPPED_LIMIT,
  };
  if (total > UNZIPPED_LIMIT) {
    findings.push({
      code: FINDING_CODES.sizeTotalOverLimit,
      severity: "error",
      message: `the function and its ${layers.length === 1 ? "layer" : `${layers.length} layers`} are ${formatBytes(total)} unzipped together (${parts}), over the 250 MiB (${UNZIPPED_LIMIT.toLocaleString("en-US")} bytes) Lambda allows; creating or updating the function fails`,
      hint: "Leave out what the runtime provides (--exclude-runtime-provided), packages present twice (see the version findings), or move to a container image (up to 10 GB).",
      target: target.id,
      details,
    });
  } else {
    findings.push({
      code: FINDING_CODES.sizeTotal,
      severity: "info",
      message: `function and layers: ${formatBytes(total)} unzipped together (${parts}), ${formatPercent(total, UNZIPPED_LIMIT)} of the 250 MiB limit`,
      target: target.id,
      details,
    });
  }

  const [sitePackages, pythonFolder] = lambdaSiteDirs(target.runtime) as [string, string];
  const copies = new Map<string, Copy[]>();
  const add = (key: string, copy: Copy) => {
    const list = copies.get(key) ?? [];
    list.push(copy);
    copies.set(key, list);
  };
  for (const distribution of files.distributions) {
    if (distribution.siteDir !== "") continue;
    add(normalizeName(distribution.name), {
      version: distribution.version,
      place: "the function",
      folder: "/var/task",
      pathRank: 0,
      layer: 0,
    });
  }
  // The function's own top-level modules, matched with the layers' packages by import name.
  const sourceModules = new Map<string, string>();
  for (const path of sourcePaths(files)) {
    const module = topLevelModuleOf(path);
    if (module !== undefined && !sourceModules.has(module)) sourceModules.set(module, path);
  }
  layers.forEach((layer, index) => {
    for (const distribution of layer.files.distributions) {
      const rank =
        distribution.siteDir === sitePackages ? 1 : distribution.siteDir === pythonFolder ? 2 : -1;
      if (rank === -1) continue;
      const copy: Copy = {
        version: distribution.version,
        place: `layer ${index + 1} (${layer.path})`,
        folder: `/opt/${distribution.siteDir}`,
        pathRank: rank,
        layer: index + 1,
      };
      add(normalizeName(distribution.name), copy);
      for (const module of distribution.topLevelFile ?? distribution.topLevelFromRecord) {
        const sourcePath = sourceModules.get(module);
        if (sourcePath === undefined) continue;
        findings.push({
          code: FINDING_CODES.sourceShadowsLayerPackage,
          severity: "warning",
          message: `the function's own ${sourcePath} is imported as ${module}, hiding ${label(distribution)} from ${copy.place}: /var/task comes first on sys.path`,
          hint: "Rename the source module, or drop the package from the layer if the function means its own.",
          file: sourcePath,
          package: label(distribution),
          target: target.id,
        });
      }
    }
  });
  for (const [name, list] of [...copies].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (list.length < 2) continue;
    // Whose files Python imports: the first folder on sys.path; within one /opt folder the
    // layer extracted last, whose files replaced the others'.
    const ordered = [...list].sort((a, b) => a.pathRank - b.pathRank || b.layer - a.layer);
    const winner = ordered[0]!;
    const versions = new Set(list.map((copy) => copy.version));
    const describe = (copy: Copy) => `${copy.version} in ${copy.place} at ${copy.folder}`;
    if (versions.size === 1) {
      findings.push({
        code: FINDING_CODES.duplicatePackage,
        severity: "info",
        message: `${name} ${winner.version} is in ${list.length} places (${ordered.map((copy) => copy.place).join(", ")}); the copy in ${winner.place} is imported, the others only take space`,
        hint: "Keep it in one place to save space under the 250 MiB limit.",
        package: `${name} ${winner.version}`,
        target: target.id,
      });
      continue;
    }
    const mixed = ordered.filter(
      (copy) => copy !== winner && copy.folder === winner.folder && copy.version !== winner.version,
    );
    findings.push({
      code: FINDING_CODES.versionSkew,
      severity: "warning",
      message: `${name} has different versions on sys.path: ${ordered.map(describe).join("; ")}. ${winner.version} from ${winner.place} wins (sys.path order: /var/task, ${`/opt/${sitePackages}`}, /opt/python; later layers overwrite earlier ones)${mixed.length > 0 ? `; ${mixed.map((copy) => copy.place).join(" and ")} install into the same folder, so files of ${mixed.map((copy) => copy.version).join(", ")} that ${winner.version} does not have stay mixed in` : ""}. Compiled parts built against another version fail at import (the usual cause of "No module named '_cffi_backend'" or pydantic_core version errors)`,
      hint: `Ship ${name} in one place only (pylayer build --exclude ${name} for the function, or rebuild the layers from one resolution).`,
      package: `${name} ${winner.version}`,
      target: target.id,
      details: {
        package: name,
        winner: { version: winner.version, place: winner.place, folder: winner.folder },
        copies: ordered.map((copy) => ({
          version: copy.version,
          place: copy.place,
          folder: copy.folder,
        })),
      },
    });
  }
  return findings;
}

function unzippedSize(files: LayerFiles): number {
  return files.reader.entries.reduce((sum, entry) => sum + entry.uncompressedSize, 0);
}
