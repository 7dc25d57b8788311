#!/usr/bin/env node
/**
 * Completes dist/ after tsc, quietly: copies the Python programs of src/ (`*.py`, which tsc
 * does not copy) next to the compiled JavaScript, where the library reads them (see
 * src/python-sources.ts), then bundles the compiled command line (dist/cli/bin.js) into
 * dist/bundle/ with the options in rolldown.config.mjs. `npm run build` runs it after tsc,
 * and the test suite's global setup before the tests. Errors go to stderr and exit 1.
 * The entries stay executable (mode 755). With `lambda` (the default) it also bundles the
 * factory's Lambda builder (dist/lambda/index.js) into dist/lambda-bundle/, self-contained.
 */
import { cpSync, rmSync } from "node:fs";
import { chmod, copyFile, mkdir, readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { rolldown } from "rolldown";
import config, { lambdaBundle } from "../rolldown.config.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));

export async function copyPythonSources() {
  const paths = (await readdir(join(root, "src"), { recursive: true })).filter((path) =>
    path.endsWith(".py"),
  );
  for (const path of paths) {
    const destination = join(root, "dist", path);
    await mkdir(dirname(destination), { recursive: true });
    await copyFile(join(root, "src", path), destination);
  }
}

export async function bundle(options = { lambda: true }) {
  await copyPythonSources();
  const { output, ...input } = config;
  const build = await rolldown(input);
  try {
    await build.write(output);
  } finally {
    await build.close();
  }
  // The entry is package.json's "bin": `npm link` points PATH at it, and the bundler writes
  // files without the execute bit, so each build sets it again.
  for (const name of Object.keys(config.input)) {
    await chmod(join(output.dir, `${name}.js`), 0o755);
  }
  if (options.lambda) await bundleLambda();
}

/** The factory's builder with its dependencies, a folder that stands alone (LayerFactory deploys it). */
async function bundleLambda() {
  const { output, ...input } = lambdaBundle;
  const build = await rolldown(input);
  try {
    await build.write(output);
  } finally {
    await build.close();
  }
  // smol-toml is loaded with createRequire (lazily, for lock files and manifests), which
  // a bundler leaves alone: ship the package next to the bundle.
  const target = join(output.dir, "node_modules", "smol-toml");
  rmSync(target, { recursive: true, force: true });
  cpSync(join(root, "node_modules", "smol-toml"), target, { recursive: true });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await bundle();
}
