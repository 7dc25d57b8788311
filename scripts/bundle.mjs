#!/usr/bin/env node
/**
 * Bundles the compiled command line (dist/cli/bin.js, from tsc) into dist/bundle/ with the
 * options in rolldown.config.mjs, quietly: `npm run build` runs it after tsc, and the test
 * suite's global setup before the tests. Run after tsc; errors go to stderr and exit 1.
 * The entries stay executable (mode 755).
 */
import { chmod } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { rolldown } from "rolldown";
import config from "../rolldown.config.mjs";

export async function bundle() {
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
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await bundle();
}
