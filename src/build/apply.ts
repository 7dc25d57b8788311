/**
 * Applying a plan: download the planned wheels (concurrently, verified, cached),
 * plan each wheel's installation into the layout, and write one deterministic zip per
 * output. Nothing here decides versions; it only carries out the plan.
 */
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { LocalPython } from "../compile/index.js";
import { PylayerError } from "../errors.js";
import { assembleLayer, assertNoEntries, encodeManifest } from "../layer/index.js";
import type { Architecture } from "../runtime/index.js";
import { createEntryReader } from "../slim/layer-files.js";
import { type InstallPlan, layoutFor, planWheelInstall } from "../wheel/index.js";
import { deterministicTimestamp, writeDeterministicZip, ZipReader } from "../zip/index.js";
import type { PlanContext } from "./plan.js";
import { findCompilers, type TransformOptions, transformEntries } from "./transform.js";
import type { BuildEvent, BuildPlan, OutputPlan, ZipReport } from "./types.js";

export async function applyPlan(
  plan: BuildPlan,
  context: PlanContext,
  onEvent: (event: BuildEvent) => void = () => {},
  transform: TransformOptions = {},
): Promise<{ zips: ZipReport[]; warnings: string[] }> {
  const warnings: string[] = [];
  const pythons = await findCompilers(transform, context.targets, context.env);
  const needed = new Set<string>();
  for (const target of plan.targets) {
    for (const item of target.packages) if (item.excluded === undefined) needed.add(item.filename);
  }
  onEvent({ type: "phase", phase: "download", message: `Fetching ${needed.size} wheels` });
  let done = 0;
  const paths = new Map<string, string>();
  await Promise.all(
    [...needed].map(async (filename) => {
      const file = context.files.get(filename);
      if (file === undefined) throw new Error(`no index file recorded for ${filename}`);
      const { path } = await (context.clients?.get(filename) ?? context.client).download(file);
      paths.set(filename, path);
      done++;
      onEvent({ type: "progress", message: `Fetched ${done}/${needed.size} wheels` });
    }),
  );

  const mtime = deterministicTimestamp(context.env);
  const readers = new Map<string, Promise<ZipReader>>();
  const openReader = (path: string) => {
    let reader = readers.get(path);
    if (reader === undefined) {
      reader = ZipReader.open(path);
      readers.set(path, reader);
    }
    return reader;
  };
  try {
    const zips: ZipReport[] = [];
    for (const output of plan.outputs) {
      zips.push(
        await writeOutput(plan, output, context, paths, openReader, mtime, warnings, onEvent, {
          options: transform,
          pythons,
        }),
      );
    }
    return { zips, warnings };
  } finally {
    await Promise.all([...readers.values()].map(async (reader) => (await reader).close()));
  }
}

async function writeOutput(
  plan: BuildPlan,
  output: OutputPlan,
  context: PlanContext,
  paths: Map<string, string>,
  openReader: (path: string) => Promise<ZipReader>,
  mtime: Date,
  warnings: string[],
  onEvent: (event: BuildEvent) => void,
  transform: { options: TransformOptions; pythons: Map<string, LocalPython> },
): Promise<ZipReport> {
  const targetPlans = plan.targets.filter((target) => output.targets.includes(target.id));
  const first = targetPlans[0]!;
  const targets = context.targets.filter((target) => output.targets.includes(target.id));
  const runtimeNames = new Set(targets.map((target) => target.runtime.name));
  const layout = {
    ...layoutFor(output.layout, targets[0]!.runtime),
    // One zip shared by several Python versions: scripts run whichever python3 the runtime has.
    ...(runtimeNames.size > 1 ? { pythonExecutable: "/var/lang/bin/python3" } : {}),
  };
  onEvent({
    type: "phase",
    phase: "install",
    message: `Installing ${first.packages.length} packages for ${output.targets.join(", ")}`,
  });
  const installs: InstallPlan[] = await Promise.all(
    first.packages
      .filter((item) => item.excluded === undefined)
      .map(async (item) => {
        const path = paths.get(item.filename)!;
        return planWheelInstall(path, await openReader(path), layout);
      }),
  );
  assertNoEntries(installs);
  const assembled = assembleLayer(installs);
  const { conflicts } = assembled;
  const { entries, report: transformReport } = await transformEntries(
    assembled.entries,
    createEntryReader(openReader),
    transform.options,
    targets
      .map((target) => transform.pythons.get(target.runtime.python.join(".")))
      .filter(
        (python, index, all): python is LocalPython =>
          python !== undefined && all.indexOf(python) === index,
      ),
    onEvent,
  );
  for (const conflict of conflicts) {
    warnings.push(
      `${conflict.path} is written by ${conflict.packages.join(" and ")}; the file of ${conflict.packages[0]} is kept`,
    );
  }
  const runtimes = [...new Set(targets.map((target) => target.runtime.name))];
  const architectures = [
    ...new Set(targets.map((target) => target.architecture)),
  ] as Architecture[];
  const comment = encodeManifest({
    runtimes,
    architectures,
    layout: output.layout,
    packages: installs.map((install) => ({ name: install.name, version: install.version })),
  });
  onEvent({ type: "phase", phase: "write", message: `Writing ${output.path}` });
  await mkdir(dirname(output.path), { recursive: true });
  let result: Awaited<ReturnType<typeof writeDeterministicZip>>;
  try {
    result = await writeDeterministicZip(output.path, entries, { mtime, comment });
  } catch (error) {
    if (error instanceof PylayerError) throw error;
    throw new PylayerError(
      "write-failed",
      `could not write ${output.path}: ${(error as Error).message}`,
      {
        hint: "Check that the folder is writable and the disk has room.",
        cause: error,
      },
    );
  }
  return {
    path: result.path,
    size: result.size,
    unzippedSize: result.unzippedSize,
    sha256: result.sha256,
    sha256Base64: result.sha256Base64,
    targets: output.targets,
    runtimes,
    architectures,
    layout: output.layout,
    packages: first.packages
      .filter((item) => item.excluded === undefined)
      .map((item) => ({
        name: item.name,
        version: item.version,
        wheel: item.filename,
        tag: item.tag,
      })),
    excluded: first.packages
      .filter((item) => item.excluded !== undefined)
      .map((item) => ({ name: item.name, version: item.version, reason: item.excluded! })),
    ...transformReport,
  };
}
