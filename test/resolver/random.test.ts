// Cross-checks the resolver against exhaustive search on small random package sets: when a
// consistent set of versions exists the resolver must find one, every result must satisfy
// all requirements, extras and constraints, and a failure must be one of the documented errors.
import { describe, expect, it } from "vitest";
import { isPylayerError } from "../../src/errors.js";
import { Version } from "../../src/pep440/index.js";
import { resolve } from "../../src/resolver/index.js";
import {
  MemoryProvider,
  mulberry32,
  type PackageIndex,
  type Release,
  requirement,
} from "./memory-provider.js";

const PROJECTS = ["a", "b", "c", "d", "e"];
const VERSIONS = ["1.0", "2.0", "3.0"];
const EXTRAS = ["x", "y"];

interface Instance {
  readonly index: PackageIndex;
  readonly roots: string[];
  readonly constraints: string[];
}

function randomInstance(random: () => number): Instance {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const randomRequirement = (owner: string | null): string => {
    const project = pick(PROJECTS.filter((name) => name !== owner || random() < 0.2));
    const extras = random() < 0.25 ? `[${pick(EXTRAS)}]` : "";
    const operator = pick([">=", "<", "==", "!=", "", ""]);
    return `${project}${extras}${operator === "" ? "" : `${operator}${pick(VERSIONS)}`}`;
  };
  const index: Record<string, Record<string, Release>> = {};
  for (const project of PROJECTS) {
    index[project] = {};
    for (const version of VERSIONS) {
      if (random() < 0.15) continue;
      const dependencies = Array.from({ length: Math.floor(random() * 3) }, () =>
        randomRequirement(project),
      );
      const extras: Record<string, string[]> = {};
      if (random() < 0.4) extras[pick(EXTRAS)] = [randomRequirement(project)];
      index[project][version] = { dependencies, extras };
    }
  }
  const roots = Array.from({ length: 1 + Math.floor(random() * 2) }, () => randomRequirement(null));
  const constraints =
    random() < 0.3 ? [`${pick(PROJECTS)}${pick(["<", ">=", "!="])}${pick(VERSIONS)}`] : [];
  return { index, roots, constraints };
}

/** Every requirement in force for a choice of versions (absent projects are undefined). */
function activeRequirements(instance: Instance, choice: ReadonlyMap<string, string>): string[] {
  const active = [...instance.roots];
  const added = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    const extrasOf = (project: string) =>
      new Set(
        active
          .map(requirement)
          .filter((r) => r.normalizedName === project)
          .flatMap((r) => [...r.extras]),
      );
    for (const [project, version] of choice) {
      const release = instance.index[project]?.[version];
      if (release === undefined) continue;
      const texts = [...(release.dependencies ?? [])];
      for (const extra of extrasOf(project)) texts.push(...(release.extras?.[extra] ?? []));
      for (const text of texts) {
        const key = `${project} ${version} ${text}`;
        if (added.has(key)) continue;
        added.add(key);
        active.push(text);
        changed = true;
      }
    }
  }
  return active;
}

function consistent(instance: Instance, choice: ReadonlyMap<string, string>): boolean {
  for (const text of activeRequirements(instance, choice)) {
    const parsed = requirement(text);
    const version = choice.get(parsed.normalizedName);
    if (version === undefined || !parsed.specifier.contains(Version.parse(version))) return false;
  }
  for (const text of instance.constraints) {
    const parsed = requirement(text);
    const version = choice.get(parsed.normalizedName);
    if (version !== undefined && !parsed.specifier.contains(version)) return false;
  }
  return true;
}

function solvable(instance: Instance): boolean {
  const options = PROJECTS.map((project) => [
    undefined,
    ...Object.keys(instance.index[project] ?? {}),
  ]);
  const choice = new Map<string, string>();
  const search = (position: number): boolean => {
    if (position === PROJECTS.length) return consistent(instance, choice);
    const project = PROJECTS[position]!;
    for (const version of options[position]!) {
      if (version === undefined) choice.delete(project);
      else choice.set(project, version);
      if (search(position + 1)) return true;
    }
    choice.delete(project);
    return false;
  };
  return search(0);
}

describe("resolve against exhaustive search", () => {
  it("agrees on 400 random package sets", async () => {
    let solved = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const instance = randomInstance(mulberry32(seed));
      const expectedSolvable = solvable(instance);
      const provider = new MemoryProvider(instance.index);
      let choice: Map<string, string> | null = null;
      try {
        const result = await resolve(provider, {
          requirements: instance.roots.map(requirement),
          constraints: instance.constraints.map(requirement),
        });
        choice = new Map(result.packages.map((item) => [item.name, item.candidate.version.text]));
        const active = activeRequirements(instance, choice).map(requirement);
        for (const item of result.packages) {
          const defined = Object.keys(
            instance.index[item.name]?.[item.candidate.version.text]?.extras ?? {},
          );
          const requested = new Set(
            active.filter((r) => r.normalizedName === item.name).flatMap((r) => [...r.extras]),
          );
          expect(item.extras, `seed ${seed}: extras of ${item.name}`).toEqual(
            defined.filter((extra) => requested.has(extra)).sort(),
          );
        }
      } catch (error) {
        if (!isPylayerError(error)) throw error;
        expect(["no-matching-distribution", "resolution-impossible"], `seed ${seed}`).toContain(
          error.code,
        );
      }
      expect(choice !== null, `seed ${seed}: ${JSON.stringify(instance)}`).toBe(expectedSolvable);
      if (choice !== null) {
        solved++;
        expect(consistent(instance, choice), `seed ${seed}`).toBe(true);
        // Nothing is installed that no requirement reaches.
        const needed = new Set(
          activeRequirements(instance, choice).map((text) => requirement(text).normalizedName),
        );
        expect(
          [...choice.keys()].every((name) => needed.has(name)),
          `seed ${seed}`,
        ).toBe(true);
      }
    }
    // The generator must produce both outcomes for the comparison to mean anything.
    expect(solved).toBeGreaterThan(100);
    expect(solved).toBeLessThan(400);
  });
});
