#!/usr/bin/env node
/**
 * Bundles the compiled command line (dist/cli/bin.js, from tsc) into dist/bundle/ with the
 * options in rolldown.config.mjs, quietly: `npm run build` runs it after tsc, and the test
 * suite's global setup before the tests. Run after tsc; errors go to stderr and exit 1.
 */
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
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await bundle();
}
