/**
 * The built-v1 bucket: built wheels by source hash + interpreter + backend requirements,
 * reused across builders, pruned to the most recently used (a reuse counts as a use), with
 * their build logs. Projects use a minimal in-tree backend, so only a local Python is needed.
 */
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { findBuildPython, SourceBuilder } from "../../src/pep517/index.js";
import { inTreeProject, pythonsOnPath, writeTree } from "../helpers/backends.js";
import { temporaryFolder } from "../helpers/sandbox.js";

vi.setConfig({ testTimeout: 300_000 });

const hasPython = (await pythonsOnPath()).length > 0;
if (!hasPython) console.warn("built-v1 cache tests skipped: no python3 on PATH");

describe.skipIf(!hasPython)("built-v1 cache", () => {
  it("keeps the most recently used built wheels and logs, a reuse counting as a use", async () => {
    const cache = await temporaryFolder();
    const projects = await temporaryFolder();
    const messages: string[] = [];
    const builder = () =>
      new SourceBuilder({
        findPython: () => findBuildPython(),
        installRequirements: async () => [],
        cacheFolder: cache,
        keepBuilds: 2,
        onEvent: (event) => messages.push(event.message),
      });
    const build = async (name: string) => {
      const instance = builder();
      try {
        return await instance.buildTree(join(projects, name), name);
      } finally {
        await instance.dispose();
      }
    };
    for (const name of ["one", "two", "three"]) {
      await writeTree(join(projects, name), inTreeProject(name, "1.0"));
    }
    const entries = async () =>
      (await readdir(cache)).filter((name) => /^[0-9a-f]{64}$/.test(name)).length;
    const one = await build("one");
    await build("two");
    expect(await entries()).toBe(2);
    // Reusing "one" makes it the most recently used: "two" goes when "three" is built.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await build("one")).fromCache).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await build("three");
    expect(await entries()).toBe(2);
    expect((await build("one")).sha256).toBe(one.sha256);
    expect(messages).toContain("one: built wheel one-1.0-py3-none-any.whl reused from the cache");
    const rebuilt = await build("two");
    expect(rebuilt.fromCache).toBe(false);
    expect((await readdir(join(cache, "logs"))).length).toBe(2);

    // A changed file is a new source: built again, not reused.
    await writeFile(join(projects, "one", "one", "__init__.py"), 'VALUE = "changed"\n');
    expect((await build("one")).fromCache).toBe(false);
  });
});
