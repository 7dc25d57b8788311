#!/usr/bin/env node
/**
 * The GitHub Action's entry point (action.yml): reads the inputs GitHub passes as INPUT_<NAME>
 * environment variables, runs `pylayer build --json` (the bundled CLI next to this script)
 * with the matching flags, and appends the outputs to the file named by GITHUB_OUTPUT.
 * Everything else — checking, publishing, errors and their hints — is the CLI's.
 *
 * Outputs: zip-path, sha256, code-sha256 (base64, Lambda's CodeSha256), zips (JSON, every
 * zip of a matrix build), layer-version-arns (JSON: region → ARN), layer-version-arn (the
 * first region's).
 */
import { spawnSync } from "node:child_process";
import { appendFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../dist/bundle/pylayer.js", import.meta.url));

/** Input name → `pylayer build` flag and how the value is read. Lists: one per line (or comma). */
const INPUTS = [
  ["requirements", undefined, "list"],
  ["requirement-files", "--requirement", "list"],
  ["constraint-files", "--constraint", "list"],
  ["pyproject", "--pyproject", "string"],
  ["lock", "--lock", "string"],
  ["extra", "--extra", "list"],
  ["group", "--group", "list"],
  ["runtime", "--runtime", "list"],
  ["arch", "--arch", "list"],
  ["output", "--output", "string"],
  ["mode", "--mode", "string"],
  ["source", "--source", "string"],
  ["handler", "--handler", "string"],
  ["exclude", "--exclude", "list"],
  ["exclude-runtime-provided", "--exclude-runtime-provided", "boolean"],
  ["index-url", "--index-url", "string"],
  ["extra-index-url", "--extra-index-url", "list"],
  ["codeartifact", "--codeartifact", "string"],
  ["codeartifact-owner", "--codeartifact-owner", "string"],
  ["cache-dir", "--cache-dir", "string"],
  ["slim", "--slim", "boolean"],
  ["compile", "--compile", "boolean"],
  ["check-imports", "--check-imports", "boolean"],
  ["no-check", "--no-check", "boolean"],
  ["publish", "--publish", "string"],
  ["region", "--region", "list"],
  ["description", "--description", "string"],
  ["endpoint-url", "--endpoint-url", "string"],
];

/** GitHub's naming: INPUT_ + the name upper-cased, spaces as underscores (dashes kept). */
function input(env, name) {
  const value = env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`];
  return value === undefined ? "" : value.trim();
}

export function buildArgs(env) {
  const args = ["build", "--json"];
  for (const [name, flag, kind] of INPUTS) {
    const value = input(env, name);
    if (value === "") continue;
    if (kind === "boolean") {
      if (!/^(true|false)$/i.test(value)) {
        throw new Error(`input ${name} must be true or false, not "${value}"`);
      }
      if (value.toLowerCase() === "true") args.push(flag);
    } else if (kind === "list") {
      const items = value
        .split(/[\n,]/)
        .map((item) => item.trim())
        .filter(Boolean);
      for (const item of items) args.push(...(flag === undefined ? [item] : [flag, item]));
    } else {
      args.push(flag, value);
    }
  }
  return args;
}

export function outputsOf(result, cwd) {
  const zips = (result.zips ?? []).map((zip) => ({
    path: resolve(cwd, zip.path),
    sha256: zip.sha256,
    codeSha256: zip.sha256Base64,
    targets: zip.targets,
  }));
  const arns = {};
  for (const published of result.publish ?? []) {
    for (const region of published.regions ?? []) {
      if (region.layerVersionArn !== undefined) arns[region.region] = region.layerVersionArn;
    }
  }
  return {
    "zip-path": zips[0]?.path ?? "",
    sha256: zips[0]?.sha256 ?? "",
    "code-sha256": zips[0]?.codeSha256 ?? "",
    zips: JSON.stringify(zips),
    "layer-version-arns": JSON.stringify(arns),
    "layer-version-arn": Object.values(arns)[0] ?? "",
  };
}

function main() {
  const env = process.env;
  const cwd = resolve(input(env, "working-directory") || ".");
  let args;
  try {
    args = buildArgs(env);
  } catch (error) {
    console.error(`::error::${error.message}`);
    return 2;
  }
  const child = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 256 * 1024 * 1024,
  });
  if (child.error !== undefined) throw child.error;
  let result;
  try {
    result = JSON.parse(child.stdout);
  } catch {
    process.stdout.write(child.stdout);
    return child.status ?? 2;
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (result.error !== undefined) {
    console.error(`::error::pylayer ${result.error.code ?? ""}: ${result.error.message ?? ""}`);
  }
  const outputFile = env.GITHUB_OUTPUT;
  if (outputFile !== undefined && outputFile !== "" && (result.zips ?? []).length > 0) {
    const lines = Object.entries(outputsOf(result, cwd)).map(
      ([name, value]) => `${name}=${value}\n`,
    );
    appendFileSync(outputFile, lines.join(""));
  }
  return child.status ?? 2;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main();
}
