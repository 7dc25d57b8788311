/**
 * `custom.pylayer` reading and the grouping of a service's Python functions into packages
 * (pylayer/serverless), through the subpath's exports; the framework runs in examples.test.ts.
 */
import { describe, expect, it } from "vitest";
import { PylayerError } from "../../src/errors.js";
import {
  inputOptions,
  layerLogicalId,
  MIGRATION_HINTS,
  packageGroups,
  pythonFunctions,
  pythonRequirementsWarning,
  readOptions,
  type ServerlessService,
} from "../../src/serverless/index.js";

function service(
  functions: Record<string, Record<string, unknown>>,
  extra: Partial<ServerlessService> = {},
): ServerlessService {
  return {
    service: "svc",
    provider: { name: "aws", runtime: "python3.12" },
    getAllFunctions: () => Object.keys(functions),
    getFunction: (name: string) => functions[name]!,
    ...extra,
  };
}

function configError(block: unknown): PylayerError {
  try {
    readOptions(block);
  } catch (error) {
    if (error instanceof PylayerError) return error;
    throw error;
  }
  throw new Error("readOptions accepted the block");
}

describe("readOptions", () => {
  it("defaults to function mode with the check on", () => {
    const options = readOptions(undefined);
    expect(options.layer).toBe(false);
    expect(options.check).toBe(true);
    expect(options.exclude).toEqual([]);
  });

  it("reads serverless-python-requirements' names where the meaning is the same", () => {
    const options = readOptions({
      layer: { name: "deps", description: "shared" },
      fileName: "requirements/prod.txt",
      slim: true,
      slimPatterns: ["**/*.md"],
      noDeploy: ["pytest"],
      exclude: ["mypy"],
    });
    expect(options.layer).toEqual({ name: "deps", description: "shared" });
    expect(options.fileName).toBe("requirements/prod.txt");
    expect(options.slim).toBe(true);
    expect(options.slimPatterns).toEqual(["**/*.md"]);
    expect(options.exclude).toEqual(["mypy", "pytest"]);
    expect(readOptions({ layer: true }).layer).toEqual({});
  });

  it.each([
    // [block, message part, hint part]
    [{ dockerizePip: true }, "serverless-python-requirements option", "needs no Docker"],
    [{ zip: true }, "custom.pylayer.zip", "layer: true"],
    [{ pipCmdExtraArgs: ["--no-deps"] }, "pipCmdExtraArgs", "indexUrl"],
    [{ useStaticCache: false }, "useStaticCache", "always caches"],
    [{ cacheLocation: "/tmp/c" }, "cacheLocation", "cacheDir"],
    [{ slimm: true }, "not a pylayer option", "Did you mean slim?"],
    [{ slim: "yes" }, '"yes", not true or false', "slim: true"],
    [{ exclude: "boto3" }, "not a list of strings", "exclude: ["],
    [
      { layer: { compatibleRuntimes: ["python3.12"] } },
      "layer.compatibleRuntimes",
      "from the functions",
    ],
    [[], "not a table", "custom:"],
  ])("refuses %j with a message and a hint", (block, message, hint) => {
    const error = configError(block);
    expect(error.code).toBe("serverless-config");
    expect(error.message).toContain(message);
    expect(error.hint).toContain(hint);
  });

  it("has a migration hint for each serverless-python-requirements option pylayer drops", () => {
    for (const key of [
      "dockerizePip",
      "zip",
      "useStaticCache",
      "useDownloadCache",
      "pipCmdExtraArgs",
    ]) {
      expect(MIGRATION_HINTS[key], key).toBeDefined();
    }
  });
});

describe("inputOptions (fileName)", () => {
  it.each([
    ["requirements/prod.txt", { requirementFiles: ["/svc/requirements/prod.txt"] }],
    ["uv.lock", { lock: "/svc/uv.lock" }],
    ["pylock.lambda.toml", { lock: "/svc/pylock.lambda.toml" }],
    ["poetry.lock", { lock: "/svc/poetry.lock" }],
    ["Pipfile.lock", { lock: "/svc/Pipfile.lock" }],
    ["pyproject.toml", { pyproject: "/svc/pyproject.toml" }],
  ])("reads %s as %j", (fileName, expected) => {
    expect(inputOptions("/svc", fileName)).toEqual(expected);
  });

  it("leaves the input to discovery when no fileName is given", () => {
    expect(inputOptions("/svc", undefined)).toEqual({});
  });
});

describe("pythonFunctions and packageGroups", () => {
  it("takes the provider's target unless the function sets runtime or architecture, and skips non-Python functions", () => {
    const functions = pythonFunctions(
      service({
        a: { handler: "a.handler" },
        b: { handler: "b.handler", architecture: "arm64" },
        c: { handler: "c.handler", runtime: "nodejs20.x" },
        d: { image: "uri" },
        e: { handler: "e.handler", runtime: "python3.11", module: "./mod/" },
      }),
    );
    expect(
      functions.map((item) => [
        item.name,
        item.target.runtime,
        item.target.architecture,
        item.module,
      ]),
    ).toEqual([
      ["a", "python3.12", "x86_64", "."],
      ["b", "python3.12", "arm64", "."],
      ["e", "python3.11", "x86_64", "mod"],
    ]);
  });

  it("groups by module and target, or one zip per function when individually", () => {
    const shared = service({
      a: { handler: "a.handler" },
      b: { handler: "b.handler" },
      c: { handler: "c.handler", architecture: "arm64" },
      d: { handler: "d.handler", module: "tools" },
      e: { handler: "e.handler", package: { individually: true } },
    });
    const groups = packageGroups(shared, pythonFunctions(shared));
    expect(
      groups.map((group) => [group.artifact, group.functions.map((item) => item.name)]),
    ).toEqual([
      ["svc.zip", ["a", "b"]],
      ["svc-python3.12-arm64.zip", ["c"]],
      ["svc-tools.zip", ["d"]],
      ["e.zip", ["e"]],
    ]);
    const individually = service(
      { a: { handler: "a.handler" }, b: { handler: "b.handler" } },
      {
        package: { individually: true },
      },
    );
    expect(
      packageGroups(individually, pythonFunctions(individually)).map((group) => group.artifact),
    ).toEqual(["a.zip", "b.zip"]);
  });

  it("names layers' logical ids as the framework does", () => {
    expect(layerLogicalId("pythonRequirements")).toBe("PythonRequirementsLambdaLayer");
    expect(layerLogicalId("python-requirements_x")).toBe(
      "PythonDashrequirementsUnderscorexLambdaLayer",
    );
  });
});

describe("pythonRequirementsWarning (a custom.pythonRequirements block without its plugin)", () => {
  it("says where each key goes: the same key in custom.pylayer, a migration hint, or nothing", () => {
    const warning = pythonRequirementsWarning({
      dockerizePip: true,
      slim: true,
      fileName: "requirements/prod.txt",
      pipCmdExtraArgs: ["--no-cache-dir"],
      somethingElse: 1,
    })!;
    expect(warning).toContain(
      "custom.pythonRequirements is serverless-python-requirements' configuration",
    );
    expect(warning).toContain("  slim: move it to custom.pylayer.slim");
    expect(warning).toContain("  fileName: move it to custom.pylayer.fileName");
    expect(warning).toContain(`  dockerizePip: ${MIGRATION_HINTS.dockerizePip}`);
    expect(warning).toContain(`  pipCmdExtraArgs: ${MIGRATION_HINTS.pipCmdExtraArgs}`);
    expect(warning).toContain("  somethingElse: pylayer has no such option; remove it");
    expect(warning).toContain("Migrating from serverless-python-requirements");
  });

  it("is nothing without the block", () => {
    expect(pythonRequirementsWarning(undefined)).toBeUndefined();
    expect(pythonRequirementsWarning(null)).toBeUndefined();
  });
});
