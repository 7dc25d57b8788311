/**
 * Markers that pick out a subset of Lambda targets, for lock files and exports whose
 * entries differ between targets. Built from `python_version` and `platform_machine`
 * only (every Lambda target is CPython on Linux), as short as the subset allows.
 */
import { type Target, wheelMachine } from "../runtime/index.js";

const pythonVersion = (target: Target) => `${target.runtime.python[0]}.${target.runtime.python[1]}`;
const machine = (target: Target) => wheelMachine(target.architecture);

function byVersion(a: string, b: string): number {
  const [, aMinor = 0] = a.split(".").map(Number);
  const [, bMinor = 0] = b.split(".").map(Number);
  return aMinor - bMinor;
}

/** The marker of one target: `sys_platform == "linux" and platform_machine == "…" and python_version == "3.X"`. */
export function targetEnvironmentMarker(target: Target): string {
  return `sys_platform == "linux" and platform_machine == "${machine(target)}" and python_version == "${pythonVersion(target)}"`;
}

/** A marker true on exactly `selected` among `all`; undefined when `selected` is all of them. */
export function targetsMarker(
  selected: readonly Target[],
  all: readonly Target[],
): string | undefined {
  const chosen = new Set(selected.map((target) => target.id));
  if (all.every((target) => chosen.has(target.id))) return undefined;
  const machines = [...new Set(selected.map(machine))].sort();
  const versions = [...new Set(selected.map(pythonVersion))].sort(byVersion);
  const equalsChosen = (predicate: (target: Target) => boolean) =>
    all.every((target) => predicate(target) === chosen.has(target.id));
  const anyOf = (variable: string, values: string[]) =>
    values.map((value) => `${variable} == "${value}"`).join(" or ");
  if (equalsChosen((target) => machines.includes(machine(target)))) {
    return anyOf("platform_machine", machines);
  }
  if (equalsChosen((target) => versions.includes(pythonVersion(target)))) {
    return anyOf("python_version", versions);
  }
  const parts: string[] = [];
  for (const version of versions) {
    const ofVersion = all.filter((target) => pythonVersion(target) === version);
    const chosenOfVersion = ofVersion.filter((target) => chosen.has(target.id));
    if (chosenOfVersion.length === ofVersion.length) {
      parts.push(`python_version == "${version}"`);
    } else {
      for (const name of [...new Set(chosenOfVersion.map(machine))].sort()) {
        parts.push(`python_version == "${version}" and platform_machine == "${name}"`);
      }
    }
  }
  return parts.join(" or ");
}

/** Targets in a stable order: Python version, then machine. */
export function sortTargets<T extends Target>(targets: readonly T[]): T[] {
  return [...targets].sort(
    (a, b) =>
      byVersion(pythonVersion(a), pythonVersion(b)) ||
      (machine(a) < machine(b) ? -1 : machine(a) > machine(b) ? 1 : 0),
  );
}
