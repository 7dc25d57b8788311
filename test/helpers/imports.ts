/**
 * The import statements of TypeScript sources, read with regular expressions (the
 * sources follow Biome's formatting: one statement per import, specifiers quoted, ending
 * in `.js`), for tests of the module structure.
 */
import { readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** Every `.ts` file under `folder`, recursively. */
export function typeScriptFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? typeScriptFiles(join(folder, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(folder, entry.name)]
        : [],
  );
}

export interface ImportSite {
  specifier: string;
  /** `import type` / `export type`: erased at compile time. */
  typeOnly: boolean;
  /** `await import(...)`: loaded when the code runs, not with the module. */
  dynamic: boolean;
}

/** Every import and re-export of a module, static and dynamic. */
export function importSites(source: string): ImportSite[] {
  const sites: ImportSite[] = [];
  const staticForm = /^\s*(import|export)\s+(type\s+)?([^;]*?\s+from\s+)?["']([^"']+)["']/gm;
  for (const match of source.matchAll(staticForm)) {
    const clause = match[3] ?? "";
    const everyNameIsType =
      /^\{[^}]*\}\s+from\s+$/.test(clause) &&
      clause
        .slice(1, clause.indexOf("}"))
        .split(",")
        .map((name) => name.trim())
        .filter(Boolean)
        .every((name) => name.startsWith("type "));
    sites.push({
      specifier: match[4]!,
      typeOnly: match[2] !== undefined || everyNameIsType,
      dynamic: false,
    });
  }
  for (const match of source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) {
    sites.push({ specifier: match[1]!, typeOnly: false, dynamic: true });
  }
  return sites;
}

/** The source file a relative specifier names (`./a.js` → `<folder>/a.ts`); undefined for packages. */
export function resolvedSource(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  return resolve(dirname(file), specifier).replace(/\.js$/, ".ts");
}
