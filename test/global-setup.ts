/**
 * Builds dist/ once before the suite (tsc, then the rolldown bundle of the command
 * line), so that tests which run the real `pylayer` executable (node
 * dist/bundle/pylayer.js, what package.json's "bin" names) always run the current code.
 */
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { type OutputOptions, type RolldownOptions, rolldown } from "rolldown";

export default async function setup(): Promise<void> {
  const require = createRequire(import.meta.url);
  const tsc = require.resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { stdio: "inherit" });
  const configUrl = new URL("../rolldown.config.mjs", import.meta.url).href;
  const { default: config } = (await import(configUrl)) as {
    default: RolldownOptions & { output: OutputOptions };
  };
  const { output, ...input } = config;
  const bundle = await rolldown(input);
  await bundle.write(output);
  await bundle.close();
}
