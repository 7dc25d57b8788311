#!/usr/bin/env node
/**
 * Builds `dist/sea/pylayer`, a single executable (Node's "single executable applications"):
 * the running Node binary with the whole command line injected, for machines without Node.
 * Run after `npm run build` (it bundles dist/cli/bin.js); `npm run sea` does both.
 *
 * A single executable runs one CommonJS script and can `require` only Node's built-in
 * modules, so rolldown bundles the command line with all of its dependencies (the AWS SDK
 * included) into one CommonJS file with the lazy command imports inlined. What reads files
 * next to the module at run time is replaced at bundle time: pylayer's version (read from
 * package.json) becomes a constant, smol-toml (loaded lazily with createRequire) an
 * import, and the Python programs of src/ are inlined as in the bundle (rolldown.config.mjs). The blob is made by `node --experimental-sea-config` and injected with postject.
 *
 * The executable is for the platform of the Node that runs this script (linux x86_64 on
 * CI); README "Single executable" says how to build it for another one.
 */
import { execFileSync } from "node:child_process";
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { rolldown } from "rolldown";
import { pythonSourcesDefine, startupOutputOptions } from "../rolldown.config.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const folder = join(root, "dist", "sea");
const FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

/** Replacements of code that reads files beside the module; each must match once. */
function replacements(version) {
  const packageJson = JSON.stringify(JSON.stringify({ version }));
  return [
    [
      /readFileSync\(new URL\("\.\.\/\.\.\/package\.json", import\.meta\.url\), "utf8"\)/g,
      packageJson,
    ],
    [
      /readFile\(new URL\("\.\.\/\.\.\/package\.json", import\.meta\.url\), "utf8"\)/g,
      `Promise.resolve(${packageJson})`,
    ],
    [/createRequire\(import\.meta\.url\)\("smol-toml"\)/g, "__pylayerSmolToml"],
  ];
}

function seaPlugin(version) {
  const seen = new Map();
  return {
    name: "pylayer-sea",
    transform(code) {
      let changed = code;
      for (const [pattern, replacement] of replacements(version)) {
        if (pattern.test(changed)) {
          seen.set(pattern.source, (seen.get(pattern.source) ?? 0) + 1);
          changed = changed.replace(pattern, replacement);
        }
      }
      if (changed.includes("__pylayerSmolToml")) {
        changed = `import * as __pylayerSmolToml from "smol-toml";\n${changed}`;
      }
      return changed === code ? null : { code: changed };
    },
    buildEnd() {
      for (const [pattern] of replacements(version)) {
        if (!seen.has(pattern.source)) {
          throw new Error(`sea: nothing matched ${pattern.source}; update scripts/sea.mjs`);
        }
      }
    },
  };
}

export async function buildSea() {
  const { version } = JSON.parse(await readFile(join(root, "package.json"), "utf8"));
  await rm(folder, { recursive: true, force: true });
  await mkdir(folder, { recursive: true });
  const script = join(folder, "pylayer.cjs");
  const build = await rolldown({
    input: join(root, "dist", "cli", "bin.js"),
    platform: "node",
    plugins: [seaPlugin(version)],
    transform: { define: pythonSourcesDefine },
    // Optional peers of the library's integrations; the command line never loads them.
    external: [/^node:/, "aws-cdk-lib", "constructs", "serverless"],
    logLevel: "warn",
  });
  try {
    await build.write({
      file: script,
      format: "cjs",
      codeSplitting: false,
      ...startupOutputOptions,
    });
  } finally {
    await build.close();
  }
  // A shebang line is not JavaScript for the SEA loader.
  const code = (await readFile(script, "utf8")).replace(/^#!.*\n/, "");
  await writeFile(script, code);

  const config = join(folder, "sea-config.json");
  const blob = join(folder, "pylayer.blob");
  await writeFile(
    config,
    JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true }),
  );
  execFileSync(process.execPath, ["--experimental-sea-config", config], { stdio: "ignore" });

  const executable = join(folder, process.platform === "win32" ? "pylayer.exe" : "pylayer");
  await copyFile(process.execPath, executable);
  await chmod(executable, 0o755);
  const require = createRequire(import.meta.url);
  const { inject } = require("postject");
  await inject(executable, "NODE_SEA_BLOB", await readFile(blob), {
    sentinelFuse: FUSE,
    // Mach-O keeps the blob in a segment of its own (README: codesign before and after).
    ...(process.platform === "darwin" ? { machoSegmentName: "NODE_SEA" } : {}),
  });
  return executable;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.stdout.write(`${await buildSea()}\n`);
}
