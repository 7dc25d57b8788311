/**
 * Compiles src/ to dist/ once before the suite, so that tests which run the real
 * `pylayer` executable (node dist/cli/bin.js) always run the current code.
 */
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";

export default function setup(): void {
  const require = createRequire(import.meta.url);
  const tsc = require.resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { stdio: "inherit" });
}
