/**
 * examples/serverless as a user runs them: the real `serverless package` (Serverless
 * Framework v3, the dev dependency) loads `pylayer/serverless` by its package name, offline
 * (see framework.ts: AWS answered by a local plugin, the index on 127.0.0.1, no Docker on
 * PATH). Each service is packaged twice: the zips in .serverless/ are byte-identical and
 * the template's function versions and layer hash do not change; with the first deploy's
 * stack outputs, the framework keeps the uploaded layer (no new layer version).
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATION_HINTS } from "../../src/serverless/index.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { unzipFile } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";
import {
  awsCalls,
  codeSha256,
  prepareService,
  type Run,
  readTemplate,
  runServerless,
  type Service,
  serverlessPackage,
  type Template,
  versions,
} from "./framework.js";

let server: IndexServer;

beforeAll(async () => {
  server = await startIndexServer([
    buildWheel({
      name: "requests",
      version: "2.32.3",
      requires: [
        "charset-normalizer<4,>=2",
        "idna<4,>=2.5",
        "urllib3<3,>=1.21.1",
        "certifi>=2017.4.17",
      ],
    }),
    buildWheel({ name: "charset-normalizer", version: "3.4.1" }),
    buildWheel({ name: "idna", version: "3.10" }),
    buildWheel({ name: "urllib3", version: "2.3.0" }),
    buildWheel({ name: "certifi", version: "2025.1.31" }),
    buildWheel({ name: "boto3", version: "1.35.0" }),
    ...["cp311", "cp312"].flatMap((python) =>
      ["x86_64", "aarch64"].map((machine) =>
        buildWheel({
          name: "orjson",
          version: "3.10.15",
          tag: `${python}-${python}-manylinux_2_17_${machine}`,
        }),
      ),
    ),
  ]);
});

afterAll(async () => {
  await server?.close();
});

const decode = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

/** The wheel tag pylayer installed a package from (its dist-info WHEEL file). */
function wheelTag(zip: Record<string, Uint8Array>, distInfo: string): string | undefined {
  const wheel = Object.entries(zip).find(([name]) => name.endsWith(`${distInfo}/WHEEL`));
  return /^Tag: (.+)$/m.exec(decode(wheel?.[1]))?.[1];
}

interface Packaged {
  service: Service;
  first: Run;
  second: Run;
  /** Zip name → bytes, from the first run. */
  zips: Record<string, Buffer>;
  template: Template;
  secondTemplate: Template;
  secondZips: Record<string, Buffer>;
}

/** Packages examples/serverless/NAME twice (the second time after `between`). */
async function packageTwice(
  name: string,
  between?: (service: Service) => Promise<void>,
): Promise<Packaged> {
  const service = await prepareService(name);
  const readZips = async (names: string[]) =>
    Object.fromEntries(
      await Promise.all(
        names.map(
          async (zip) => [zip, await readFile(join(service.folder, ".serverless", zip))] as const,
        ),
      ),
    );
  const listZips = async () =>
    (await import("node:fs/promises"))
      .readdir(join(service.folder, ".serverless"))
      .then((names) => names.filter((item) => item.endsWith(".zip")).sort());
  const first = await serverlessPackage(service, server.url, ["--verbose"]);
  expect(first.code, first.stdout + first.stderr).toBe(0);
  const zips = await readZips(await listZips());
  const template = await readTemplate(service);
  await between?.(service);
  const second = await serverlessPackage(service, server.url, ["--verbose"]);
  expect(second.code, second.stdout + second.stderr).toBe(0);
  const secondZips = await readZips(await listZips());
  return {
    service,
    first,
    second,
    zips,
    template,
    secondTemplate: await readTemplate(service),
    secondZips,
  };
}

function expectStable(packaged: Packaged): void {
  expect(Object.keys(packaged.secondZips)).toEqual(Object.keys(packaged.zips));
  for (const [name, bytes] of Object.entries(packaged.zips)) {
    expect(packaged.secondZips[name]!.equals(bytes), `${name} is byte-identical`).toBe(true);
  }
  expect(versions(packaged.secondTemplate)).toEqual(versions(packaged.template));
}

describe("examples/serverless/functions: function mode, packaged individually, module folders", () => {
  let packaged: Packaged;
  beforeAll(async () => {
    packaged = await packageTwice("functions");
  }, 240_000);

  it("writes each function's zip: its module folder at the root, its own dependencies, package.patterns applied", async () => {
    const api = await unzipFile(join(packaged.service.folder, ".serverless", "api.zip"));
    const apiNames = Object.keys(api);
    expect(apiNames).toEqual(
      expect.arrayContaining([
        "app.py",
        "requirements.txt",
        "requests/__init__.py",
        "urllib3/__init__.py",
      ]),
    );
    // package.patterns' "!**/tests/**", the module folder as the root, nothing of worker.
    expect(
      apiNames.filter((name) =>
        /tests\/|^api\/|orjson|worker|serverless\.yml|node_modules/.test(name),
      ),
    ).toEqual([]);
    expect(wheelTag(api, "requests-2.32.3.dist-info")).toBe("py3-none-any");
    const worker = await unzipFile(join(packaged.service.folder, ".serverless", "worker.zip"));
    expect(Object.keys(worker)).toEqual(
      expect.arrayContaining(["worker.py", "orjson/__init__.py"]),
    );
    expect(Object.keys(worker).some((name) => name.startsWith("requests"))).toBe(false);
    expect(wheelTag(worker, "orjson-3.10.15.dist-info")).toBe("cp311-cp311-manylinux_2_17_aarch64");
  });

  it("points the template at pylayer's zips: handler, arm64 for the arm64 function, CodeSha256 of the zip", async () => {
    const { Resources } = packaged.template;
    expect(Resources.ApiLambdaFunction?.Properties.Handler).toBe("app.handler");
    expect(Resources.ApiLambdaFunction?.Properties.Code?.S3Key).toMatch(/\/api\.zip$/);
    expect(Resources.ApiLambdaFunction?.Properties.Architectures).toBeUndefined();
    expect(Resources.WorkerLambdaFunction?.Properties.Handler).toBe("worker.handler");
    expect(Resources.WorkerLambdaFunction?.Properties.Architectures).toEqual(["arm64"]);
    expect(Resources.WorkerLambdaFunction?.Properties.Code?.S3Key).toMatch(/\/worker\.zip$/);
    const folder = join(packaged.service.folder, ".serverless");
    expect(versions(packaged.template).Worker?.sha).toBe(
      await codeSha256(join(folder, "worker.zip")),
    );
    expect(versions(packaged.template).Api?.sha).toBe(await codeSha256(join(folder, "api.zip")));
  });

  it("gives byte-identical zips and the same function versions on a second run, asking AWS nothing", async () => {
    expectStable(packaged);
    expect(await awsCalls(packaged.service)).toEqual([]);
    // serverless-python-requirements' `module` is declared to the framework's schema.
    expect(packaged.first.stdout + packaged.first.stderr).not.toMatch(
      /unrecognized property 'module'/,
    );
  });
});

describe("`serverless deploy function` with pylayer/serverless", () => {
  let service: Service;
  let zipSha: string;
  beforeAll(async () => {
    service = await prepareService("functions");
    const packaged = await serverlessPackage(service, server.url);
    expect(packaged.code, packaged.stdout + packaged.stderr).toBe(0);
    zipSha = await codeSha256(join(service.folder, ".serverless", "worker.zip"));
  }, 120_000);

  /** Deploys the worker's code onto a deployed function whose code has this CodeSha256. */
  async function deployWorker(deployedSha: string) {
    await writeFile(service.calls, "");
    await writeFile(
      service.deployedFunction,
      JSON.stringify({
        Configuration: {
          FunctionName: "pylayer-functions-dev-worker",
          CodeSha256: deployedSha,
          PackageType: "Zip",
          State: "Active",
          LastUpdateStatus: "Successful",
          Handler: "worker.handler",
          Runtime: "python3.11",
          Architectures: ["arm64"],
        },
      }),
    );
    const run = await runServerless(service, server.url, ["deploy", "function", "-f", "worker"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    return { run, calls: await awsCalls(service) };
  }

  it("skips the upload when the dependencies and code did not change (same bytes, same CodeSha256)", async () => {
    const { run, calls } = await deployWorker(zipSha);
    expect(run.stdout + run.stderr).toContain("Code did not change");
    expect(calls.map((call) => `${call.service}.${call.method}`)).not.toContain(
      "Lambda.updateFunctionCode",
    );
  }, 120_000);

  it("uploads pylayer's zip, dependencies included, when the deployed code differs", async () => {
    const { calls } = await deployWorker("c3RhbGU=");
    const update = calls.find((call) => call.method === "updateFunctionCode");
    expect(update?.params.ZipFile).toEqual({ sha256: zipSha });
  }, 120_000);
});

describe("examples/serverless/service: function mode, one package per target", () => {
  let packaged: Packaged;
  beforeAll(async () => {
    packaged = await packageTwice("service");
  }, 240_000);

  it("shares one zip between the functions of the provider's target and builds the arm64 python3.12 one separately", async () => {
    const { Resources } = packaged.template;
    const key = (name: string) => Resources[`${name}LambdaFunction`]?.Properties.Code?.S3Key;
    expect(key("Hello")).toMatch(/\/pylayer-service\.zip$/);
    expect(key("Goodbye")).toBe(key("Hello"));
    expect(key("Report")).toMatch(/\/pylayer-service-python3\.12-arm64\.zip$/);
    expect(Resources.ReportLambdaFunction?.Properties.Architectures).toEqual(["arm64"]);
    expect(Resources.ReportLambdaFunction?.Properties.Runtime).toBe("python3.12");
    const shared = await unzipFile(
      join(packaged.service.folder, ".serverless", "pylayer-service.zip"),
    );
    expect(Object.keys(shared)).toEqual(
      expect.arrayContaining(["handler.py", "report.py", "orjson/__init__.py"]),
    );
    // excludeRuntimeProvided leaves boto3 out; package.patterns leaves README.md out.
    expect(Object.keys(shared).filter((name) => /boto3|README|serverless\.yml/.test(name))).toEqual(
      [],
    );
    expect(wheelTag(shared, "orjson-3.10.15.dist-info")).toBe("cp311-cp311-manylinux_2_17_x86_64");
    const report = await unzipFile(
      join(packaged.service.folder, ".serverless", "pylayer-service-python3.12-arm64.zip"),
    );
    expect(wheelTag(report, "orjson-3.10.15.dist-info")).toBe("cp312-cp312-manylinux_2_17_aarch64");
  });

  it("is byte-identical on a second run", () => {
    expectStable(packaged);
  });
});

describe("examples/serverless/layer: layer mode", () => {
  let packaged: Packaged;
  beforeAll(async () => {
    // Between the runs the stub answers describeStacks with the first run's outputs, as
    // AWS would after deploying it.
    packaged = await packageTwice("layer", async (service) => {
      const outputs = Object.entries((await readTemplate(service)).Outputs).map(
        ([key, output]) => ({
          OutputKey: key,
          OutputValue: output.Value,
        }),
      );
      const { writeFile } = await import("node:fs/promises");
      await writeFile(service.stack, JSON.stringify({ Stacks: [{ Outputs: outputs }] }));
    });
  }, 240_000);

  it("registers PythonRequirementsLambdaLayer (python/ inside) and points each function at its target's layer", async () => {
    const { Resources } = packaged.template;
    const layer = Resources.PythonRequirementsLambdaLayer;
    expect(layer?.Type).toBe("AWS::Lambda::LayerVersion");
    expect(layer?.Properties.CompatibleRuntimes).toEqual(["python3.11"]);
    expect(layer?.Properties.CompatibleArchitectures).toEqual(["arm64"]);
    expect(layer?.Properties.Content?.S3Key).toMatch(/\/pythonRequirements\.zip$/);
    expect(Resources.HelloLambdaFunction?.Properties.Layers).toEqual([
      { Ref: "PythonRequirementsLambdaLayer" },
    ]);
    expect(Resources.HelloLambdaFunction?.Properties.Architectures).toEqual(["arm64"]);
    // The x86_64 function's wheels differ: a layer of its own, built separately.
    const x86 = Resources.PythonRequirementsPython311X8664LambdaLayer;
    expect(x86?.Properties.CompatibleArchitectures).toEqual(["x86_64"]);
    expect(Resources.LegacyLambdaFunction?.Properties.Layers).toEqual([
      { Ref: "PythonRequirementsPython311X8664LambdaLayer" },
    ]);
    const folder = join(packaged.service.folder, ".serverless");
    const arm = await unzipFile(join(folder, "pythonRequirements.zip"));
    expect(Object.keys(arm)).toEqual(
      expect.arrayContaining(["python/orjson/__init__.py", "python/requests/__init__.py"]),
    );
    expect(Object.keys(arm).every((name) => name.startsWith("python/"))).toBe(true);
    expect(wheelTag(arm, "orjson-3.10.15.dist-info")).toBe("cp311-cp311-manylinux_2_17_aarch64");
    const intel = await unzipFile(join(folder, "pythonRequirementsPython311X8664.zip"));
    expect(wheelTag(intel, "orjson-3.10.15.dist-info")).toBe("cp311-cp311-manylinux_2_17_x86_64");
    // The framework packages the code alone: no dependency in the function package.
    const code = Object.keys(await unzipFile(join(folder, "pylayer-layer.zip")));
    expect(code).toContain("handler.py");
    expect(code.filter((name) => /orjson|requests\/|python\//.test(name))).toEqual([]);
  });

  it("keeps the layer hash on a second run, so the framework reuses the uploaded layer", () => {
    expectStable(packaged);
    const hash = (template: Template) => template.Outputs.PythonRequirementsLambdaLayerHash?.Value;
    expect(hash(packaged.secondTemplate)).toBe(hash(packaged.template));
    // With the deployed stack's outputs, the framework keeps the previous S3 key: no new layer version.
    const key = (template: Template) =>
      template.Resources.PythonRequirementsLambdaLayer?.Properties.Content?.S3Key;
    expect(key(packaged.secondTemplate)).toBe(key(packaged.template));
    expect(packaged.second.stdout + packaged.second.stderr).toContain(
      "Layer pythonRequirements is already uploaded",
    );
  });

  it("asks AWS only describeStacks, answered by the local stub", async () => {
    const calls = await awsCalls(packaged.service);
    expect(calls.length).toBeGreaterThan(0);
    expect(new Set(calls.map((call) => `${call.service}.${call.method}`))).toEqual(
      new Set(["CloudFormation.describeStacks"]),
    );
  });
});

describe("what the plugin checks and warns about (one `serverless package` each)", () => {
  it("warns about a leftover custom.pythonRequirements and checks every handler of a shared zip", async () => {
    const service = await prepareService("service");
    const configPath = join(service.folder, "serverless.yml");
    const config = await readFile(configPath, "utf8");
    const changed = config
      .replace(
        "custom:\n  pylayer:\n",
        "custom:\n  pythonRequirements:\n    dockerizePip: true\n    slim: true\n  pylayer:\n",
      )
      // goodbye shares hello's zip (same folder and target); its module is not in it.
      .replace("handler: handler.goodbye", "handler: farewell.goodbye");
    expect(changed).not.toBe(config);
    await writeFile(configPath, changed);
    const run = await serverlessPackage(service, server.url);
    const output = run.stdout + run.stderr;
    expect(run.code, output).toBe(1);
    expect(output).toContain(
      "custom.pythonRequirements is serverless-python-requirements' configuration",
    );
    expect(output).toContain(`dockerizePip: ${MIGRATION_HINTS.dockerizePip}`);
    expect(output).toContain("slim: move it to custom.pylayer.slim");
    expect(output).toMatch(
      /cannot load every handler:\n\s+function goodbye: \[handler-not-found\] the handler farewell\.goodbye needs the module farewell/,
    );
    expect(output).not.toMatch(/function hello: \[handler-not-found\]/);
  }, 120_000);

  it("layer mode builds no layer for the provider's target when no function runs on it", async () => {
    const service = await prepareService("layer");
    const configPath = join(service.folder, "serverless.yml");
    const config = await readFile(configPath, "utf8");
    // Both functions on x86_64; the provider's arm64 is nobody's target.
    const changed = config.replace(
      "  hello:\n    handler: handler.hello\n",
      "  hello:\n    handler: handler.hello\n    architecture: x86_64\n",
    );
    expect(changed).not.toBe(config);
    await writeFile(configPath, changed);
    const run = await serverlessPackage(service, server.url);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const { Resources } = await readTemplate(service);
    const layers = Object.entries(Resources)
      .filter(([, resource]) => resource.Type === "AWS::Lambda::LayerVersion")
      .map(([id]) => id);
    expect(layers).toEqual(["PythonRequirementsLambdaLayer"]);
    expect(Resources.PythonRequirementsLambdaLayer?.Properties.CompatibleArchitectures).toEqual([
      "x86_64",
    ]);
    for (const name of ["HelloLambdaFunction", "LegacyLambdaFunction"]) {
      expect(Resources[name]?.Properties.Layers).toEqual([
        { Ref: "PythonRequirementsLambdaLayer" },
      ]);
    }
    const zips = (await readdir(join(service.folder, ".serverless"))).filter((name) =>
      name.endsWith(".zip"),
    );
    expect(zips.sort()).toEqual(["pylayer-layer.zip", "pythonRequirements.zip"]);
  }, 120_000);
});

describe("a failing build", () => {
  it("stops `serverless package` with pylayer's code, message and hint", async () => {
    const service = await prepareService("service");
    const { writeFile } = await import("node:fs/promises");
    await writeFile(join(service.folder, "requirements.txt"), "no-such-project==1.0\n");
    const run = await serverlessPackage(service, server.url);
    const output = run.stdout + run.stderr;
    expect(run.code, output).toBe(1);
    expect(output).toMatch(
      /pylayer could not build functions hello, goodbye \(python3\.11-x86_64\) \[[a-z-]+\]: .*no-such-project/,
    );
    expect(output).toMatch(/Hint: \S/);
  }, 120_000);
});
