import { chmod, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { findRuntime } from "../../src/runtime/index.js";
import {
  type InstallPlan,
  type LayoutKind,
  layoutFor,
  planWheelInstall,
} from "../../src/wheel/index.js";
import { writeDeterministicZip, ZipReader } from "../../src/zip/index.js";
import { type BuiltWheel, buildWheel, type WheelSpec } from "../helpers/wheels.js";

export interface InstalledWheel {
  wheel: BuiltWheel;
  wheelPath: string;
  plan: InstallPlan;
  zipPath: string;
}

/** Builds `spec` as a wheel in `folder`, plans its install and writes the layer zip. */
export async function installWheel(
  folder: string,
  spec: WheelSpec,
  layoutKind: LayoutKind = "python",
  runtimeName = "python3.12",
  filename?: string,
): Promise<InstalledWheel> {
  const wheel = buildWheel(spec);
  const wheelPath = join(folder, filename ?? wheel.filename);
  await writeFile(wheelPath, wheel.bytes);
  const plan = await planWheel(wheelPath, layoutKind, runtimeName);
  const zipPath = join(folder, `${wheel.filename}.layer.zip`);
  await writeDeterministicZip(zipPath, plan.entries);
  return { wheel, wheelPath, plan, zipPath };
}

export async function planWheel(
  wheelPath: string,
  layoutKind: LayoutKind = "python",
  runtimeName = "python3.12",
): Promise<InstallPlan> {
  const reader = await ZipReader.open(wheelPath);
  try {
    return await planWheelInstall(
      wheelPath,
      reader,
      layoutFor(layoutKind, findRuntime(runtimeName)),
    );
  } finally {
    await reader.close();
  }
}

/** Reads every file of a zip: name → contents and Unix mode. */
export async function readZip(
  zipPath: string,
): Promise<Map<string, { data: Buffer; mode: number | undefined }>> {
  const reader = await ZipReader.open(zipPath);
  const files = new Map<string, { data: Buffer; mode: number | undefined }>();
  for (const entry of reader.entries) {
    if (!entry.isDirectory)
      files.set(entry.name, { data: await reader.read(entry), mode: entry.unixMode });
  }
  await reader.close();
  return files;
}

/** Extracts a zip into `target` with its permission bits, as Lambda does into /opt. */
export async function extractZip(zipPath: string, target: string): Promise<void> {
  for (const [name, { data, mode }] of await readZip(zipPath)) {
    const path = join(target, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
    await chmod(path, (mode ?? 0o644) & 0o777);
  }
}
