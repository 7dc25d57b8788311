/**
 * Builds dist/ once before the suite (tsc, then the rolldown bundle of the command
 * line), so that tests which run the real `pylayer` executable (node
 * dist/bundle/pylayer.js, what package.json's "bin" names) always run the current code.
 */
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";

export default async function setup(): Promise<void> {
  const require = createRequire(import.meta.url);
  const tsc = require.resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { stdio: "inherit" });
  const bundleUrl = new URL("../scripts/bundle.mjs", import.meta.url).href;
  const { bundle } = (await import(bundleUrl)) as { bundle: () => Promise<void> };
  await bundle();
}
