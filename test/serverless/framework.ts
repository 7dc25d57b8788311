/**
 * Runs the real Serverless Framework v3 (the `serverless` dev dependency) on a copy of a
 * service of examples/serverless, offline: `node_modules/pylayer` holds this repository's
 * package.json and a link to its dist/ (what `npm install pylayer` puts there; the
 * dependencies resolve from the repository, where dist/ really is), the local plugin fixtures/aws-stub.cjs answers
 * what the framework asks AWS while packaging, telemetry and notifications are off, no
 * credentials are set, and pylayer's index is the loopback server (PIP_INDEX_URL).
 */
import { createHash } from "node:crypto";
import { copyFile, cp, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CliResult, runProcess } from "../helpers/cli.js";
import { pathWithoutDocker } from "../helpers/no-docker.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const serverlessBin = join(root, "node_modules", "serverless", "bin", "serverless.js");

export interface Service {
  folder: string;
  home: string;
  /** The file the AWS stub records calls in. */
  calls: string;
  /** The describeStacks answer the stub gives when this file exists. */
  stack: string;
  /** The Lambda getFunction answer the stub gives when this file exists. */
  deployedFunction: string;
}

export type Run = CliResult;

/** Copies examples/serverless/NAME into a fresh folder and adds the AWS stub to its plugins. */
export async function prepareService(name: string): Promise<Service> {
  const base = await temporaryFolder("pylayer-sls-");
  const folder = join(base, name);
  await cp(join(root, "examples", "serverless", name), folder, { recursive: true });
  // Not a link to the whole repository: the framework lists every file of the service
  // folder, links followed, before applying package.patterns.
  const installed = join(folder, "node_modules", "pylayer");
  await mkdir(installed, { recursive: true });
  await copyFile(join(root, "package.json"), join(installed, "package.json"));
  await symlink(join(root, "dist"), join(installed, "dist"));
  await copyFile(
    fileURLToPath(new URL("fixtures/aws-stub.cjs", import.meta.url)),
    join(folder, "aws-stub.cjs"),
  );
  const configPath = join(folder, "serverless.yml");
  const config = await readFile(configPath, "utf8");
  const withStub = config.replace(
    "plugins:\n  - pylayer/serverless\n",
    "plugins:\n  - pylayer/serverless\n  - ./aws-stub.cjs\n",
  );
  if (withStub === config) throw new Error(`${configPath} does not list pylayer/serverless`);
  await writeFile(configPath, withStub);
  const home = join(base, "home");
  await mkdir(home);
  return {
    folder,
    home,
    calls: join(base, "aws-calls.jsonl"),
    stack: join(base, "stack.json"),
    deployedFunction: join(base, "function.json"),
  };
}

/** `serverless package` (extra arguments appended) in the service's folder. */
export function serverlessPackage(
  service: Service,
  indexUrl: string,
  args: string[] = [],
): Promise<Run> {
  return runServerless(service, indexUrl, ["package", ...args]);
}

/** The `serverless` command with these arguments in the service's folder. */
export function runServerless(service: Service, indexUrl: string, args: string[]): Promise<Run> {
  const env = isolatedEnv(service.home, {
    PATH: pathWithoutDocker(),
    PIP_INDEX_URL: indexUrl,
    SLS_TELEMETRY_DISABLED: "1",
    SLS_NOTIFICATIONS_MODE: "off",
    SLS_DEPRECATION_DISABLE: "*",
    AWS_EC2_METADATA_DISABLED: "true",
    NO_COLOR: "1",
    PYLAYER_TEST_AWS_CALLS: service.calls,
    PYLAYER_TEST_STACK: service.stack,
    PYLAYER_TEST_FUNCTION: service.deployedFunction,
  });
  return runProcess(process.execPath, [serverlessBin, ...args], {
    cwd: service.folder,
    env,
  });
}

/** The AWS calls the stub answered, in order. */
export async function awsCalls(
  service: Service,
): Promise<{ service: string; method: string; params: Record<string, unknown> }[]> {
  const text = await readFile(service.calls, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map(
      (line) =>
        JSON.parse(line) as { service: string; method: string; params: Record<string, unknown> },
    );
}

export interface Resource {
  Type: string;
  Properties: Record<string, unknown> & {
    Code?: { S3Key: string };
    Content?: { S3Key: string };
    Architectures?: string[];
    Layers?: unknown[];
    Handler?: string;
    Runtime?: string;
    CodeSha256?: string;
    CompatibleRuntimes?: string[];
    CompatibleArchitectures?: string[];
  };
}

export interface Template {
  Resources: Record<string, Resource>;
  Outputs: Record<string, { Value: unknown }>;
}

export async function readTemplate(service: Service): Promise<Template> {
  return JSON.parse(
    await readFile(
      join(service.folder, ".serverless", "cloudformation-template-update-stack.json"),
      "utf8",
    ),
  );
}

/** The version resources' logical ids and CodeSha256, by function. */
export function versions(template: Template): Record<string, { id: string; sha: string }> {
  const found: Record<string, { id: string; sha: string }> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== "AWS::Lambda::Version") continue;
    const name = id.replace(/LambdaVersion\w+$/, "");
    found[name] = { id, sha: resource.Properties.CodeSha256 ?? "" };
  }
  return found;
}

/** base64 of the raw sha256 of a file: Lambda's CodeSha256. */
export async function codeSha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("base64");
}
