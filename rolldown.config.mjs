/**
 * Bundles the command line (dist/cli/bin.js, compiled by tsc) into dist/bundle/: a few
 * files with code splitting instead of ~150 modules, which saves about a third of the
 * start-up of a warm build (module resolution and linking). Dependencies stay in
 * node_modules (imported as they are), so the AWS SDK still loads only in the commands
 * that use it. The bundle sits two folders below the package root like dist/cli/, so
 * paths relative to the module (../../package.json) hold in both.
 *
 * The Python programs of src/ (`*.py`, see src/python-sources.ts) are inlined as
 * `PYLAYER_PYTHON_SOURCES`, keyed by their path under src/, so the bundle reads no .py file.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const sourceFolder = fileURLToPath(new URL("./src/", import.meta.url));
const pythonSources = Object.fromEntries(
  readdirSync(sourceFolder, { recursive: true })
    .filter((path) => path.endsWith(".py"))
    .sort()
    .map((path) => [path.replaceAll("\\", "/"), readFileSync(sourceFolder + path, "utf8")]),
);

/** The `define` that inlines the Python programs (also used by scripts/sea.mjs). */
export const pythonSourcesDefine = { PYLAYER_PYTHON_SOURCES: JSON.stringify(pythonSources) };

/**
 * Output options for code that a process loads at start-up (also used by scripts/sea.mjs).
 * V8 keeps a source text with any character above U+00FF as two bytes per character, which
 * its scanner reads more slowly: non-ASCII characters are escaped (`charset`), and comments,
 * where most of them are, are left out (a smaller file to read, decode and pre-parse; the
 * commented sources are `src/` and `dist/`). A warm build starts about 10 ms sooner.
 */
export const startupOutputOptions = { charset: "ascii", comments: false };

export default {
  input: { pylayer: "dist/cli/bin.js" },
  platform: "node",
  external: [/^[^./]/],
  transform: { define: pythonSourcesDefine },
  output: {
    dir: "dist/bundle",
    format: "esm",
    entryFileNames: "[name].js",
    cleanDir: true,
    ...startupOutputOptions,
    // Node.js reads, decodes and links each chunk file on its own (four hand-offs to libuv's
    // pool per file), so a build loads a few large chunks instead of about thirty small
    // ones: the pipeline, resolution and the check (and their static imports) in one; the
    // modules the lighter commands share with it in three smaller ones, so that `targets`,
    // `publish` or `layers` do not load the pipeline; the build command's own module apart,
    // so that `build --help` does not either; and `--help`/`--version` only the entry. Lazy
    // imports of dependencies (zod, smol-toml, the AWS SDK) stay lazy: none of these modules
    // imports one statically.
    codeSplitting: {
      groups: [
        // The entry's static imports stay with it: the other groups take their members'
        // dependencies too, and would otherwise draw errors.js or args.js into their chunks.
        { name: "cli", tags: ["$initial"], priority: 3 },
        { name: "standards", test: /dist[\\/](runtime|tags|pep440|pep508)[\\/]/, priority: 2 },
        { name: "zip", test: /dist[\\/](zip[\\/]|layer[\\/]|files\.js)/, priority: 2 },
        {
          name: "options",
          test: /dist[\\/]cli[\\/](options[\\/]|print[\\/]|project-defaults)/,
          priority: 2,
        },
        {
          name: "build",
          test: /dist[\\/](pipeline[\\/]build|check[\\/]index)\.js$/,
          priority: 1,
        },
      ],
    },
  },
};

/**
 * The layer factory's Lambda builder (dist/lambda/index.js) as a self-contained folder,
 * dist/lambda-bundle/, that the LayerFactory construct deploys as it is (no Docker, no
 * bundling at synth): dependencies, the AWS SDK included, are bundled, so the function
 * runs the SDK versions pylayer was tested with, not the runtime's.
 */
export const lambdaBundle = {
  input: { index: "dist/lambda/index.js" },
  platform: "node",
  output: {
    dir: "dist/lambda-bundle",
    format: "esm",
    entryFileNames: "[name].mjs",
    chunkFileNames: "[name]-[hash].mjs",
    cleanDir: true,
  },
};
