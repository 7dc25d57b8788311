/**
 * uv.lock reading (schema version 1): the graph walk from the root project, extras,
 * dev groups, workspace members and other sources a layer cannot take, staleness.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseUvLock, readLockFile } from "../../src/lock/index.js";
import { makeTarget } from "../../src/runtime/index.js";
import { temporaryFolder } from "../helpers/sandbox.js";

const H = `sha256:${"b".repeat(64)}`;
const w = (file: string) =>
  `{ url = "https://files.example.com/${file}", hash = "${H}", size = 100 }`;

const UV_LOCK = `version = 1
revision = 2
requires-python = ">=3.11"

[manifest]
members = ["app", "shared-lib"]

[[package]]
name = "anyio"
version = "4.6.0"
source = { registry = "http://127.0.0.1:8080/simple" }
dependencies = [
    { name = "idna" },
    { name = "typing-extensions", marker = "python_full_version < '3.13'" },
]
sdist = { url = "https://files.example.com/anyio-4.6.0.tar.gz", hash = "${H}", size = 5 }
wheels = [${w("anyio-4.6.0-py3-none-any.whl")}]

[package.optional-dependencies]
trio = [{ name = "trio" }]

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [
    { name = "anyio" },
    { name = "numpy", marker = "platform_machine == 'x86_64'" },
]

[package.optional-dependencies]
async = [{ name = "anyio", extra = ["trio"] }]
local = [{ name = "shared-lib" }]

[package.dev-dependencies]
dev = [{ name = "pytest" }]

[package.metadata]
requires-dist = [
    { name = "anyio", specifier = ">=4" },
    { name = "anyio", extras = ["trio"], marker = "extra == 'async'", specifier = ">=4" },
    { name = "numpy", marker = "platform_machine == 'x86_64'" },
    { name = "shared-lib", marker = "extra == 'local'", editable = "libs/shared" },
]
provides-extras = ["async", "local"]

[package.metadata.requires-dev]
dev = [{ name = "pytest", specifier = ">=8" }]

[[package]]
name = "idna"
version = "3.10"
source = { registry = "http://127.0.0.1:8080/simple" }
wheels = [${w("idna-3.10-py3-none-any.whl")}]

[[package]]
name = "numpy"
version = "2.1.0"
source = { registry = "http://127.0.0.1:8080/simple" }
sdist = { url = "https://files.example.com/numpy-2.1.0.tar.gz", hash = "${H}", size = 5 }
wheels = [
    ${w("numpy-2.1.0-cp312-cp312-macosx_14_0_arm64.whl")},
    ${w("numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")},
]

[[package]]
name = "pytest"
version = "8.3.3"
source = { registry = "http://127.0.0.1:8080/simple" }
wheels = [${w("pytest-8.3.3-py3-none-any.whl")}]

[[package]]
name = "shared-lib"
version = "0.1.0"
source = { editable = "libs/shared" }

[[package]]
name = "trio"
version = "0.27.0"
source = { git = "https://git.example.com/python-trio/trio?rev=v0.27.0#0123456789abcdef0123456789abcdef01234567" }

[[package]]
name = "typing-extensions"
version = "4.12.2"
source = { registry = "http://127.0.0.1:8080/simple" }
wheels = [${w("typing_extensions-4.12.2-py3-none-any.whl")}]
`;

const UV_PYPROJECT = `[project]
name = "app"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["anyio>=4", "numpy; platform_machine == 'x86_64'"]

[project.optional-dependencies]
async = ["anyio[trio]>=4"]
local = ["shared-lib"]

[dependency-groups]
dev = ["pytest>=8"]

[tool.uv.sources]
shared-lib = { workspace = true }
`;

const select = (
  runtime: string,
  arch: string,
  request: { extras?: string[]; groups?: string[] } = {},
) =>
  parseUvLock(UV_LOCK, "/p/uv.lock")
    .file.select(makeTarget(runtime, arch), { extras: [], groups: [], ...request })
    .map((item) => `${item.name}==${item.version}${item.direct === undefined ? "" : " (built)"}`)
    .sort();

describe("uv.lock", () => {
  it("walks the root project's dependencies with markers per target", () => {
    expect(select("python3.12", "x86_64")).toEqual([
      "anyio==4.6.0",
      "idna==3.10",
      "numpy==2.1.0",
      "typing-extensions==4.12.2",
    ]);
    expect(select("python3.13", "arm64")).toEqual(["anyio==4.6.0", "idna==3.10"]);
  });

  it("includes dev groups only on request, and extras with their dependency extras", () => {
    expect(select("python3.13", "arm64", { groups: ["dev"] })).toContain("pytest==8.3.3");
    expect(select("python3.13", "arm64", { extras: ["async"] })).toContain("trio==0.27.0 (built)");
    expect(() => select("python3.13", "arm64", { extras: ["nope"] })).toThrow(/no extra "nope"/);
    expect(() => select("python3.13", "arm64", { groups: ["docs"] })).toThrow(
      /no dependency group "docs"/,
    );
  });

  it("builds workspace members (by path from the lock) and git sources pinned to the commit", () => {
    const lock = parseUvLock(UV_LOCK, "/p/uv.lock").file;
    const items = lock.select(makeTarget("python3.12", "x86_64"), {
      extras: ["local", "async"],
      groups: [],
    });
    expect(items.find((item) => item.name === "shared-lib")?.direct).toEqual({
      url: "file:///p/libs/shared",
      editable: true,
    });
    expect(items.find((item) => item.name === "trio")?.direct?.url).toMatch(
      /^git\+https:\/\/.+@[0-9a-f]+$/,
    );
  });

  it("keeps wheels with hashes and sdists by name", () => {
    const numpy = parseUvLock(UV_LOCK, "/p/uv.lock")
      .file.select(makeTarget("python3.12", "x86_64"), { extras: [], groups: [] })
      .find((item) => item.name === "numpy")!;
    expect(numpy.wheels).toHaveLength(2);
    expect(numpy.wheels[0]!.hashes).toEqual({ sha256: "b".repeat(64) });
    expect(numpy.otherFiles).toEqual(["numpy-2.1.0.tar.gz"]);
    expect(numpy.requiredBy).toEqual(["app"]);
  });

  it("refuses another schema version and targets outside requires-python", () => {
    expect(() => parseUvLock(UV_LOCK.replace("version = 1", "version = 2"), "/p/uv.lock")).toThrow(
      /schema version 2; pylayer reads version 1/,
    );
    expect(() => select("python3.10", "x86_64")).toThrow(/requires Python >=3.11/);
  });

  it("is fresh against a matching pyproject.toml and stale against a changed one", async () => {
    const folder = await temporaryFolder();
    await writeFile(join(folder, "uv.lock"), UV_LOCK);
    await writeFile(join(folder, "pyproject.toml"), UV_PYPROJECT);
    await expect(readLockFile(join(folder, "uv.lock"))).resolves.toMatchObject({ format: "uv" });
    await writeFile(
      join(folder, "pyproject.toml"),
      UV_PYPROJECT.replace('"anyio>=4"', '"anyio>=4.5", "httpx"'),
    );
    await expect(readLockFile(join(folder, "uv.lock"))).rejects.toThrow(
      /out of date with .*anyio>=4\.5 is in pyproject\.toml but not in the lock; .*httpx is in pyproject\.toml/,
    );
    await writeFile(
      join(folder, "pyproject.toml"),
      UV_PYPROJECT.replace('dev = ["pytest>=8"]', 'dev = ["pytest>=8", "ruff"]'),
    );
    await expect(readLockFile(join(folder, "uv.lock"))).rejects.toThrow(
      /group dev: ruff is in pyproject\.toml/,
    );
    await expect(
      readLockFile(join(folder, "uv.lock"), { checkFresh: false }),
    ).resolves.toBeDefined();
  });

  it("reads wheels of a local registry relative to it", () => {
    const text = `version = 1
requires-python = ">=3.9"
[[package]]
name = "root"
version = "1"
source = { virtual = "." }
dependencies = [{ name = "tiny" }]
[[package]]
name = "tiny"
version = "1.0"
source = { registry = "wheels" }
wheels = [{ path = "tiny-1.0-py3-none-any.whl", hash = "${H}" }]
`;
    const [tiny] = parseUvLock(text, "/p/uv.lock").file.select(makeTarget("python3.12", "x86_64"), {
      extras: [],
      groups: [],
    });
    expect(tiny!.wheels[0]!.url).toBe("file:///p/wheels/tiny-1.0-py3-none-any.whl");
  });
});
