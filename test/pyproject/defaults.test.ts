/** Project defaults: [tool.pylayer] and pylayer.toml, keyed by command-line option names. */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { spec as buildSpec } from "../../src/cli/commands/build.js";
import {
  loadProjectDefaults,
  mergeProjectDefaults,
  PROJECT_DEFAULT_KEYS,
  parseProjectDefaults,
} from "../../src/pyproject/index.js";
import { temporaryFolder } from "../helpers/sandbox.js";

describe("project defaults", () => {
  it("are documented in the README, every accepted key and no other (issue 18, point 17)", async () => {
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("Keys (every key pylayer accepts"));
    const list = section.slice(0, section.indexOf("\n\n", section.indexOf("\n- ")));
    const documented = [...list.matchAll(/^- [^:]+: (.*)$/gm)].flatMap((line) =>
      [...(line[1] ?? "").matchAll(/`([a-z0-9-]+)`/g)].map((match) => match[1]),
    );
    expect(documented.length).toBeGreaterThan(10);
    expect([...documented].sort()).toEqual(Object.keys(PROJECT_DEFAULT_KEYS).sort());
  });

  it("has a key for every build option a project may fix", () => {
    const perInvocation = new Set(["dry-run", "force", "refresh", "upgrade"]);
    for (const option of Object.keys(buildSpec.options)) {
      if (perInvocation.has(option)) continue;
      expect(PROJECT_DEFAULT_KEYS, option).toHaveProperty(option);
    }
  });

  it("reads [tool.pylayer] and resolves paths against the file's folder", async () => {
    const folder = await temporaryFolder();
    await writeFile(
      join(folder, "pyproject.toml"),
      `[project]\nname = "x"\n\n[tool.pylayer]\nruntime = ["python3.11", "python3.12"]\narch = "arm64"\nexclude-runtime-provided = true\noutput = "dist/layers"\nfind-links = ["wheels", "https://example.com/links/"]\nname = "my-layer"\nregion = ["eu-west-1"]\n`,
    );
    const defaults = await loadProjectDefaults(folder);
    expect(defaults?.section).toBe("[tool.pylayer]");
    expect(defaults?.values).toEqual({
      runtime: ["python3.11", "python3.12"],
      arch: ["arm64"],
      "exclude-runtime-provided": true,
      output: join(folder, "dist/layers"),
      "find-links": [join(folder, "wheels"), "https://example.com/links/"],
      name: "my-layer",
      region: ["eu-west-1"],
    });
  });

  it("prefers pylayer.toml", async () => {
    const folder = await temporaryFolder();
    await writeFile(join(folder, "pyproject.toml"), '[tool.pylayer]\nruntime = ["python3.11"]\n');
    await writeFile(join(folder, "pylayer.toml"), 'runtime = ["python3.13"]\n');
    expect((await loadProjectDefaults(folder))?.values.runtime).toEqual(["python3.13"]);
    await mkdir(join(folder, "empty"));
    expect(await loadProjectDefaults(join(folder, "empty"))).toBeUndefined();
  });

  it.each([
    ["runtimes", 'Did you mean "runtime"?'],
    ["exclude_runtime_provided", 'Did you mean "exclude-runtime-provided"?'],
    ["s3bucket", 'Did you mean "s3-bucket"?'],
    ["colour-scheme", "Valid keys are the command-line option names"],
  ])("names the unknown key %s and the closest valid one", (key, hint) => {
    try {
      parseProjectDefaults({ [key]: "x" }, "/p/pylayer.toml", "pylayer.toml");
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toContain(`unknown key "${key}"`);
      expect((error as { hint: string }).hint).toContain(hint);
    }
  });

  it("checks value types", () => {
    expect(() => parseProjectDefaults({ pre: "yes" }, "/p/f", "s")).toThrow(
      /"pre" in s must be true or false/,
    );
    expect(() => parseProjectDefaults({ layout: ["a"] }, "/p/f", "s")).toThrow(/must be a string/);
    expect(() => parseProjectDefaults({ exclude: [1] }, "/p/f", "s")).toThrow(/a string or a list/);
    expect(() => parseProjectDefaults({ "resolver-budget": "9" }, "/p/f", "s")).toThrow(
      /"resolver-budget" in s must be a number/,
    );
    // Numbers are kept as the text the command line would give.
    expect(parseProjectDefaults({ "resolver-budget": 5000 }, "/p/f", "s").values).toEqual({
      "resolver-budget": "5000",
    });
  });

  it("fills only options the command has and the user did not give", () => {
    const defaults = parseProjectDefaults(
      { runtime: ["python3.11"], arch: "arm64", pre: true, "no-cache": false, region: "us-east-1" },
      "/p/pylayer.toml",
      "pylayer.toml",
    );
    const merged = mergeProjectDefaults({ runtime: ["python3.13"], exclude: undefined }, defaults, [
      "runtime",
      "arch",
      "pre",
      "no-cache",
      "exclude",
    ]);
    expect(merged).toEqual({
      runtime: ["python3.13"],
      arch: ["arm64"],
      pre: true,
      exclude: undefined,
    });
  });
});
