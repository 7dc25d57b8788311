/**
 * The CLI's module rules, read from the sources: commands do not import each other (shared
 * flags and printers live in src/cli/options and src/cli/print), and the shared modules load
 * no library code at import time beyond errors and strings (types only, or `await import`),
 * so that a command loads the library only when it runs.
 */
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importSites, resolvedSource, typeScriptFiles } from "../helpers/imports.js";

const cliFolder = resolve(dirname(fileURLToPath(import.meta.url)), "../../src/cli");
const commandsFolder = join(cliFolder, "commands");

describe("the CLI's module structure", () => {
  it("reads the imports of a module, with type-only and dynamic ones told apart", () => {
    const sites = importSites(
      [
        'import { a } from "./a.js";',
        'import type { B } from "./b.js";',
        'import { type C, type D } from "./c.js";',
        'import { type E, f } from "./e.js";',
        'import {\n  g,\n  h,\n} from "./g.js";',
        'export { i } from "./i.js";',
        'import "./side-effect.js";',
        'const { j } = await import("./j.js");',
      ].join("\n"),
    );
    expect(sites).toEqual([
      { specifier: "./a.js", typeOnly: false, dynamic: false },
      { specifier: "./b.js", typeOnly: true, dynamic: false },
      { specifier: "./c.js", typeOnly: true, dynamic: false },
      { specifier: "./e.js", typeOnly: false, dynamic: false },
      { specifier: "./g.js", typeOnly: false, dynamic: false },
      { specifier: "./i.js", typeOnly: false, dynamic: false },
      { specifier: "./side-effect.js", typeOnly: false, dynamic: false },
      { specifier: "./j.js", typeOnly: false, dynamic: true },
    ]);
  });

  it("has no command that imports another command", () => {
    const commands = typeScriptFiles(commandsFolder);
    expect(commands.length).toBeGreaterThan(5);
    const crossImports = commands.flatMap((file) =>
      importSites(readFileSync(file, "utf8"))
        .map((site) => resolvedSource(file, site.specifier))
        .filter((target) => target?.startsWith(`${commandsFolder}/`))
        .map((target) => `${relative(cliFolder, file)} → ${relative(cliFolder, target!)}`),
    );
    expect(crossImports).toEqual([]);
  });

  it("has shared modules that load no library code until a command runs", () => {
    const allowed = new Set([
      resolve(cliFolder, "../errors.ts"),
      resolve(cliFolder, "../strings.ts"),
    ]);
    const shared = typeScriptFiles(cliFolder).filter(
      (file) =>
        !file.startsWith(`${commandsFolder}/`) &&
        !["main.ts", "bin.ts", "project-defaults.ts"].includes(relative(cliFolder, file)),
    );
    expect(shared.map((file) => relative(cliFolder, file))).toContain("options/aws.ts");
    const eager = shared.flatMap((file) =>
      importSites(readFileSync(file, "utf8"))
        .filter((site) => !site.typeOnly && !site.dynamic)
        .filter((site) => {
          if (site.specifier.startsWith("node:")) return false;
          const target = resolvedSource(file, site.specifier);
          return (
            target === undefined || (!target.startsWith(`${cliFolder}/`) && !allowed.has(target))
          );
        })
        .map((site) => `${relative(cliFolder, file)} → ${site.specifier}`),
    );
    expect(eager).toEqual([]);
  });
});
