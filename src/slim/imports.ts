/**
 * Which modules a Python source file refers to, found without running or fully parsing
 * it: `import` and `from … import` statements (relative ones resolved against the file's
 * package, per the import system's rules for `__package__`), plus every dotted name in
 * the text, which also catches `importlib.import_module("pkg.tests.helpers")`, `mock.patch`
 * targets and entry point values. Over-reporting is safe here: a referenced folder is
 * kept, so a false reference only makes a layer less slim, never broken.
 */

/** Statement starts: line start, or after `;`/`:` (one-line `try: import x`). */
const FROM_IMPORT =
  /(?:^|[;:])[ \t]*from[ \t]+(\.*)[ \t]*([A-Za-z_][\w.]*)?[ \t]+import[ \t]*(\([^)]*\)|(?:[^\n#;\\]|\\\r?\n)*)/gmu;
const PLAIN_IMPORT = /(?:^|[;:])[ \t]*import[ \t]+((?:[^\n#;\\]|\\\r?\n)*)/gmu;
/** A dotted name of two or more identifiers that is not itself part of a longer dotted name. */
const DOTTED_NAME = /(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+/gu;

/**
 * Absolute dotted module names referenced by `source`, a file of package `packageName`
 * (the dotted name of the folder holding it, "" for a top-level module). `keep` filters
 * the result early (e.g. names with a `tests` segment), so large files cost little memory.
 */
export function referencedModules(
  source: string,
  packageName: string,
  keep: (name: string) => boolean = () => true,
): Set<string> {
  const names = new Set<string>();
  const add = (name: string) => {
    if (name !== "" && keep(name)) names.add(name);
  };
  for (const match of source.matchAll(FROM_IMPORT)) {
    const level = match[1]!.length;
    const module = match[2] ?? "";
    const base = level === 0 ? module : resolveRelative(packageName, level, module);
    if (base === undefined) continue;
    add(base);
    for (const imported of importedNames(match[3]!)) {
      if (imported !== "*") add(base === "" ? imported : `${base}.${imported}`);
    }
  }
  for (const match of source.matchAll(PLAIN_IMPORT)) {
    for (const imported of importedNames(match[1]!)) add(imported);
  }
  for (const match of source.matchAll(DOTTED_NAME)) add(match[0]);
  return names;
}

/** The names of an import list: parentheses, line continuations and `as` aliases removed. */
function importedNames(list: string): string[] {
  return list
    .replace(/[()]/g, " ")
    .replace(/\\\r?\n/g, " ")
    .split(",")
    .map((part) =>
      part
        .trim()
        .split(/\s+as\s+/u)[0]!
        .trim(),
    )
    .filter((name) => /^(?:[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*|\*)$/u.test(name));
}

/**
 * `from ..module import x` inside package `a.b.c`: level 1 is `a.b.c`, level 2 `a.b`, …
 * Undefined when the import climbs above the top-level package (an ImportError in Python).
 */
export function resolveRelative(
  packageName: string,
  level: number,
  module: string,
): string | undefined {
  const segments = packageName === "" ? [] : packageName.split(".");
  if (level - 1 >= segments.length) return undefined;
  const base = segments.slice(0, segments.length - (level - 1));
  return module === "" ? base.join(".") : `${base.join(".")}.${module}`;
}
