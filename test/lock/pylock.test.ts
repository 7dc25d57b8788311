/**
 * pylock.toml reading, per the "pylock.toml Specification" (PEP 751): lock-version,
 * requires-python, environments, markers with `extras` / `dependency_groups`,
 * default-groups, ambiguity, and the sources a layer cannot take.
 */
import { describe, expect, it } from "vitest";
import { parsePylock } from "../../src/lock/index.js";
import { makeTarget } from "../../src/runtime/index.js";

const HASH = { sha256: "a".repeat(64) };
const wheel = (name: string) =>
  `{ name = "${name}", url = "https://files.example.com/${name}", size = 10, hashes = { sha256 = "${HASH.sha256}" } }`;

const LOCK = `
lock-version = "1.0"
environments = ["sys_platform == 'linux' and python_version >= '3.11'"]
requires-python = ">=3.11"
extras = ["s3"]
dependency-groups = ["dev"]
default-groups = ["main"]
created-by = "hand"

[[packages]]
name = "Attrs"
version = "25.1.0"
wheels = [${wheel("attrs-25.1.0-py3-none-any.whl")}]

[[packages]]
name = "numpy"
version = "2.2.3"
marker = "python_version >= '3.12'"
wheels = [
  ${wheel("numpy-2.2.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")},
  ${wheel("numpy-2.2.3-cp312-cp312-win_amd64.whl")},
]

[[packages]]
name = "numpy"
version = "1.26.4"
marker = "python_version < '3.12'"
wheels = [${wheel("numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")}]

[[packages]]
name = "boto3"
version = "1.35.0"
marker = "'s3' in extras"
wheels = [${wheel("boto3-1.35.0-py3-none-any.whl")}]

[[packages]]
name = "pytest"
version = "8.3.0"
marker = "'dev' in dependency_groups"
wheels = [${wheel("pytest-8.3.0-py3-none-any.whl")}]

[[packages]]
name = "mainonly"
version = "1.0"
marker = "'main' in dependency_groups"
wheels = [{ name = "mainonly-1.0-py3-none-any.whl", path = "wheels/mainonly-1.0-py3-none-any.whl", hashes = { sha256 = "${HASH.sha256}" } }]
`;

const names = (lock: ReturnType<typeof parsePylock>, runtime: string, request = {}) =>
  lock
    .select(makeTarget(runtime, "x86_64"), { extras: [], groups: [], ...request })
    .map((item) => `${item.name}==${item.version}`)
    .sort();

describe("pylock.toml", () => {
  const lock = parsePylock(LOCK, "/p/pylock.toml");

  it("selects by marker per target, with default groups", () => {
    expect(names(lock, "python3.11")).toEqual(["attrs==25.1.0", "mainonly==1.0", "numpy==1.26.4"]);
    expect(names(lock, "python3.12")).toEqual(["attrs==25.1.0", "mainonly==1.0", "numpy==2.2.3"]);
  });

  it("sets `extras` and `dependency_groups` from --extra and --group", () => {
    expect(names(lock, "python3.12", { extras: ["s3"], groups: ["dev"] })).toEqual([
      "attrs==25.1.0",
      "boto3==1.35.0",
      "mainonly==1.0",
      "numpy==2.2.3",
      "pytest==8.3.0",
    ]);
    expect(() => names(lock, "python3.12", { extras: ["sql"] })).toThrow(/no extra "sql"/);
    expect(() => names(lock, "python3.12", { groups: ["docs"] })).toThrow(
      /no dependency group "docs"/,
    );
  });

  it("keeps every wheel with its hashes; paths are relative to the lock", () => {
    const numpy = lock
      .select(makeTarget("python3.12", "x86_64"), { extras: [], groups: [] })
      .find((item) => item.name === "numpy")!;
    expect(numpy.wheels.map((file) => file.filename)).toHaveLength(2);
    expect(numpy.wheels[0]).toMatchObject({ hashes: HASH, size: 10 });
    const local = lock
      .select(makeTarget("python3.12", "x86_64"), { extras: [], groups: [] })
      .find((item) => item.name === "mainonly")!;
    expect(local.wheels[0]!.url).toBe("file:///p/wheels/mainonly-1.0-py3-none-any.whl");
  });

  it("refuses targets outside requires-python or environments", () => {
    expect(() => names(lock, "python3.10")).toThrow(/requires Python >=3.11, but python3.10/);
    const other = parsePylock(
      LOCK.replace("sys_platform == 'linux'", "sys_platform == 'darwin'"),
      "/p/pylock.toml",
    );
    expect(() => names(other, "python3.12")).toThrow(/none of its environments matches/);
  });

  it("derives targets from environments", () => {
    const all = ["python3.10", "python3.11", "python3.12"].flatMap((runtime) => [
      makeTarget(runtime, "x86_64"),
      makeTarget(runtime, "arm64"),
    ]);
    expect(lock.declaredTargets?.(all)?.map((target) => target.id)).toEqual([
      "python3.11-x86_64",
      "python3.11-arm64",
      "python3.12-x86_64",
      "python3.12-arm64",
    ]);
  });

  it("reports two entries selected for one package as ambiguous", () => {
    const ambiguous = parsePylock(
      LOCK.replace("marker = \"python_version < '3.12'\"", ""),
      "/p/pylock.toml",
    );
    expect(() => names(ambiguous, "python3.12")).toThrow(/both install numpy/);
  });

  // PEP 751: vcs, directory and archive (and sdist-only) packages are built from source,
  // recorded as absolute direct references (paths relative to the lock's folder, /p).
  it.each([
    [
      "vcs",
      'vcs = { type = "git", url = "https://git.example.com/x/y", commit-id = "abc", subdirectory = "pkg" }',
      { url: "git+https://git.example.com/x/y@abc#subdirectory=pkg" },
    ],
    [
      "vcs by path",
      'vcs = { type = "git", path = "../repo", commit-id = "abc" }',
      { url: "git+file:///repo@abc" },
    ],
    [
      "directory",
      'directory = { path = "../lib", editable = true }',
      { url: "file:///lib", editable: true },
    ],
    [
      "archive",
      `archive = { url = "https://x/lib-1.0.tar.gz", hashes = { sha256 = "${HASH.sha256}" } }`,
      { url: `https://x/lib-1.0.tar.gz#sha256=${HASH.sha256}` },
    ],
    [
      "sdist only",
      `version = "1.0"\nsdist = { name = "lib-1.0.tar.gz", path = "dist/lib-1.0.tar.gz", hashes = { sha256 = "${HASH.sha256}" } }`,
      { url: `file:///p/dist/lib-1.0.tar.gz#sha256=${HASH.sha256}` },
    ],
  ])("reads %s sources as direct references to build", (_kind, source, direct) => {
    const text = `lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "lib"\n${source}\n`;
    const [item] = parsePylock(text, "/p/pylock.toml").select(makeTarget("python3.12", "x86_64"), {
      extras: [],
      groups: [],
    });
    expect(item!.direct).toEqual(direct);
    expect(item!.unsupported).toBeUndefined();
  });

  it("takes a wheel archive, and builds a package locked with an sdist only", () => {
    const text = `lock-version = "1.0"\ncreated-by = "x"
[[packages]]
name = "a"
version = "1.0"
archive = { url = "https://x/a-1.0-py3-none-any.whl", hashes = { sha256 = "${HASH.sha256}" } }
[[packages]]
name = "b"
version = "2.0"
sdist = { url = "https://x/b-2.0.tar.gz", hashes = { sha256 = "${HASH.sha256}" } }
`;
    const [a, b] = parsePylock(text, "/p/pylock.toml").select(makeTarget("python3.12", "x86_64"), {
      extras: [],
      groups: [],
    });
    expect(a!.wheels.map((file) => file.filename)).toEqual(["a-1.0-py3-none-any.whl"]);
    expect(b!.direct).toEqual({ url: `https://x/b-2.0.tar.gz#sha256=${HASH.sha256}` });
    expect(b!.wheels).toEqual([]);
  });

  it("checks lock-version and the structure, with readable errors", () => {
    expect(() =>
      parsePylock('lock-version = "2.0"\ncreated-by = "x"\npackages = []', "/p/pylock.toml"),
    ).toThrow(/lock-version 2.0; pylayer reads pylock.toml version 1.x/);
    const future = parsePylock(
      'lock-version = "1.1"\ncreated-by = "x"\npackages = []\nnew-key = 1',
      "/p/pylock.toml",
    );
    expect(future.warnings.join()).toContain("new-key");
    expect(() =>
      parsePylock(
        `lock-version = "1.0"\npackages = [{ name = "a", version = "1", wheels = [{ url = "https://x/a-1-py3-none-any.whl", hashes = {} }] }]`,
        "/p/pylock.toml",
      ),
    ).toThrow(/created-by: .*\n.*packages\[0\]\.wheels\[0\]\.hashes: must list at least one hash/);
  });
});
