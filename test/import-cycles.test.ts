/**
 * No import cycles in src/: the static import graph (relative imports and re-exports,
 * `import type` included; `await import()` excluded, as it loads at run time) has no
 * cycle. Types shared by two modules live in a module both import, one way.
 */
import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importSites, resolvedSource, typeScriptFiles } from "./helpers/imports.js";

const sourceFolder = resolve(dirname(fileURLToPath(import.meta.url)), "../src");

/**
 * One cycle per strongly connected component of more than one module (or a module that
 * imports itself), as the list of modules along it, starting from the smallest name.
 */
function findCycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm, iteration order fixed by sorting for stable messages.
  const indexOf = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let counter = 0;
  const visit = (node: string): void => {
    indexOf.set(node, counter);
    lowLink.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indexOf.has(next)) {
        visit(next);
        lowLink.set(node, Math.min(lowLink.get(node)!, lowLink.get(next)!));
      } else if (onStack.has(next)) {
        lowLink.set(node, Math.min(lowLink.get(node)!, indexOf.get(next)!));
      }
    }
    if (lowLink.get(node) === indexOf.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      components.push(component);
    }
  };
  for (const node of [...graph.keys()].sort()) if (!indexOf.has(node)) visit(node);

  return components
    .filter(
      (component) => component.length > 1 || graph.get(component[0]!)?.includes(component[0]!),
    )
    .map((component) => {
      // A path from the smallest member back to itself, inside the component.
      const members = new Set(component);
      const start = [...component].sort()[0]!;
      const previous = new Map<string, string>();
      const queue = [start];
      let last: string | undefined;
      while (queue.length > 0 && last === undefined) {
        const node = queue.shift()!;
        for (const next of [...(graph.get(node) ?? [])].sort()) {
          if (!members.has(next)) continue;
          if (next === start) {
            last = node;
            break;
          }
          if (!previous.has(next)) {
            previous.set(next, node);
            queue.push(next);
          }
        }
      }
      const path = [start];
      for (let node = last!; node !== start; node = previous.get(node)!) path.splice(1, 0, node);
      return [...path, start];
    })
    .sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

function importGraph(folder: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of typeScriptFiles(folder)) {
    const targets = importSites(readFileSync(file, "utf8"))
      .filter((site) => !site.dynamic)
      .map((site) => resolvedSource(file, site.specifier))
      .filter((target): target is string => target !== undefined);
    graph.set(relative(folder, file), [
      ...new Set(targets.map((target) => relative(folder, target))),
    ]);
  }
  return graph;
}

describe("import cycles", () => {
  it("finds a cycle, a self-import, and none in a tree", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts", "d.ts"]],
      ["c.ts", ["a.ts"]],
      ["d.ts", []],
      ["e.ts", ["e.ts"]],
    ]);
    expect(findCycles(graph)).toEqual([
      ["a.ts", "b.ts", "c.ts", "a.ts"],
      ["e.ts", "e.ts"],
    ]);
    expect(
      findCycles(
        new Map([
          ["a.ts", ["b.ts"]],
          ["b.ts", []],
        ]),
      ),
    ).toEqual([]);
  });

  it("reads the whole of src/ and resolves its imports", () => {
    const graph = importGraph(sourceFolder);
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get("index.ts")).toContain("index/index.ts");
    expect(graph.get("pep508/marker.ts")?.length).toBeGreaterThan(0);
  });

  it("has none in src/", () => {
    const cycles = findCycles(importGraph(sourceFolder)).map((cycle) => cycle.join(" → "));
    expect(cycles).toEqual([]);
  });
});
