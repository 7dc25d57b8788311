/**
 * Requirements from pyproject.toml: PEP 621 dependencies and extras, PEP 735 dependency
 * groups (cases from the "Dependency Groups" specification), Poetry tables.
 */
import { describe, expect, it } from "vitest";
import { evaluateMarker } from "../../src/pep508/index.js";
import {
  expandDependencyGroup,
  type Pyproject,
  parseTomlText,
  projectRequirements,
} from "../../src/pyproject/index.js";
import { makeTarget, markerEnvironment } from "../../src/runtime/index.js";

function pyproject(text: string): Pyproject {
  return { path: "/project/pyproject.toml", data: parseTomlText(text, "/project/pyproject.toml") };
}

const texts = (project: Pyproject, request = {}) =>
  projectRequirements(project, request).requirements.map((line) => line.requirement.text);

describe("PEP 621 [project]", () => {
  const project = pyproject(`
[project]
name = "My_App"
requires-python = ">=3.11"
dependencies = ["requests>=2.31", "tomli; python_version < '3.11'"]

[project.optional-dependencies]
s3 = ["boto3>=1.34"]
cli = ["click>=8", "my-app[s3]"]
all = ["my_app[cli,s3]"]
`);

  it("reads dependencies, and extras on request", () => {
    expect(texts(project)).toEqual(["requests>=2.31", "tomli; python_version < '3.11'"]);
    expect(texts(project, { extras: ["s3"] })).toContain("boto3>=1.34");
  });

  it("expands extras that name the project itself instead of looking it up", () => {
    expect(texts(project, { extras: ["all"] })).toEqual([
      "requests>=2.31",
      "tomli; python_version < '3.11'",
      "click>=8",
      "boto3>=1.34",
    ]);
  });

  it("keeps requires-python for the target check", () => {
    const result = projectRequirements(project);
    expect(result.requiresPython?.admits("3.11.13")).toBe(true);
    expect(result.requiresPython?.admits("3.10.18")).toBe(false);
    expect(result.name).toBe("my-app");
  });

  it("names the extras when one is unknown", () => {
    expect(() => projectRequirements(project, { extras: ["sql"] })).toThrow(
      /no optional dependency group \(extra\) "sql"/,
    );
  });

  it("refuses direct URL references and dynamic dependencies", () => {
    expect(() =>
      projectRequirements(
        pyproject(
          '[project]\nname = "x"\ndependencies = ["lib @ https://example.com/lib-1.0-py3-none-any.whl"]',
        ),
      ),
    ).toThrow(/direct URL reference/);
    expect(() =>
      projectRequirements(pyproject('[project]\nname = "x"\ndynamic = ["dependencies"]')),
    ).toThrow(/dynamic/);
  });

  it("applies a marker on a self-reference to what it includes", () => {
    const result = texts(
      pyproject(`
[project]
name = "app"
dependencies = ["app[extra]; python_version >= '3.12'"]
[project.optional-dependencies]
extra = ["lib; sys_platform == 'linux'"]
`),
    );
    expect(result).toEqual(["lib; sys_platform == 'linux'"]);
    const full = projectRequirements(
      pyproject(`
[project]
name = "app"
dependencies = ["app[extra]; python_version >= '3.12'"]
[project.optional-dependencies]
extra = ["lib; sys_platform == 'linux'"]
`),
    ).requirements[0]!.requirement;
    const on = (runtime: string) =>
      evaluateMarker(full.marker!, markerEnvironment(makeTarget(runtime, "x86_64")));
    expect(on("python3.11")).toBe(false);
    expect(on("python3.12")).toBe(true);
  });
});

describe("PEP 735 [dependency-groups]", () => {
  // The specification's examples.
  const table = parseTomlText(
    `
[dependency-groups]
docs = ["sphinx"]
coverage = ["coverage[toml]"]
test = ["pytest>7", {include-group = "coverage"}]
group-a = ["foo"]
group-b = ["foo>1.0"]
group-c = ["foo<1.0"]
all = ["foo", {include-group = "group-a"}, {include-group = "group-b"}, {include-group = "group-c"}]
`,
    "x",
  )["dependency-groups"];

  it.each([
    ["test", ["pytest>7", "coverage[toml]"]],
    ["all", ["foo", "foo", "foo>1.0", "foo<1.0"]],
    ["Group_A", ["foo"]],
  ])("expands %s", (group, expected) => {
    expect(expandDependencyGroup(table, group, "x").map((item) => item.text)).toEqual(expected);
  });

  it("reports cycles, duplicates and unknown groups", () => {
    const cyclic = parseTomlText('a = [{include-group = "b"}]\nb = [{include-group = "a"}]', "x");
    expect(() => expandDependencyGroup(cyclic, "a", "x")).toThrow(/cycle: a → b → a/);
    const duplicate = parseTomlText('Test = ["a"]\ntest = ["b"]', "x");
    expect(() => expandDependencyGroup(duplicate, "test", "x")).toThrow(
      /duplicate dependency group names/,
    );
    expect(() => expandDependencyGroup(table, "lint", "x")).toThrow(/no dependency group "lint"/);
    const invalid = parseTomlText('foo = ["pyparsing"]\nbar = [{set-phasers-to = "stun"}]', "x");
    expect(expandDependencyGroup(invalid, "foo", "x").map((item) => item.text)).toEqual([
      "pyparsing",
    ]);
    expect(() => expandDependencyGroup(invalid, "bar", "x")).toThrow(
      /neither a requirement string/,
    );
  });

  it("adds groups to the project's requirements on request only", () => {
    const project = pyproject(`
[project]
name = "svc"
dependencies = ["fastapi"]
[dependency-groups]
dev = ["pytest"]
lambda = ["mangum", {include-group = "shared"}]
shared = ["svc"]
`);
    expect(texts(project)).toEqual(["fastapi"]);
    expect(texts(project, { groups: ["lambda"] })).toEqual(["fastapi", "mangum", "fastapi"]);
  });
});

describe("Poetry [tool.poetry]", () => {
  const project = pyproject(`
[tool.poetry]
name = "svc"

[tool.poetry.dependencies]
python = "^3.11"
requests = "^2.31"
psycopg = { version = "~3.1", extras = ["binary"], optional = true }
numpy = [
  { version = "<2", python = "<3.12" },
  { version = "^2.1", python = ">=3.12" },
]

[tool.poetry.extras]
postgres = ["psycopg"]

[tool.poetry.group.dev.dependencies]
pytest = "^8"

[tool.poetry.group.lambda.dependencies]
mangum = ">=0.17"

[[tool.poetry.source]]
name = "private"
url = "http://127.0.0.1:8081/simple"
`);

  it("translates dependencies; optional ones only with their extra", () => {
    expect(texts(project)).toEqual([
      "requests>=2.31,<3.0",
      'numpy<2; (python_version < "3.12")',
      'numpy>=2.1,<3.0; (python_version >= "3.12")',
    ]);
    expect(texts(project, { extras: ["postgres"] })).toContain("psycopg[binary]>=3.1,<3.2");
  });

  it("reads Poetry groups and python", () => {
    expect(texts(project, { groups: ["lambda"] })).toContain("mangum>=0.17");
    const result = projectRequirements(project);
    expect(result.style).toBe("poetry");
    expect(result.requiresPython?.admits("3.12.11")).toBe(true);
    expect(result.requiresPython?.admits("4.0.0")).toBe(false);
    expect(result.warnings.join()).toContain("private (http://127.0.0.1:8081/simple)");
  });

  it("uses [project] when it is there (Poetry 2)", () => {
    const both = pyproject(`
[project]
name = "svc"
dependencies = ["httpx"]
[tool.poetry.dependencies]
httpx = { source = "private" }
`);
    expect(texts(both)).toEqual(["httpx"]);
  });

  it("names the groups when one is unknown", () => {
    expect(() => projectRequirements(project, { groups: ["docs"] })).toThrow(
      /no dependency group "docs"/,
    );
  });
});
