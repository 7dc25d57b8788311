/** Pipfile.lock reading: categories, markers, sources, unsupported entries, Pipfile hash freshness. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PIPENV_DEFAULT_SOURCE, parsePipfileLock } from "../../src/lock/index.js";
import { makeTarget } from "../../src/runtime/index.js";

const golden = JSON.parse(readFileSync(new URL("golden/hashes.json", import.meta.url), "utf8")) as {
  pipfile: Record<string, { plette: string; normalized: string }>;
};
const PIPFILE = readFileSync(new URL("golden/app.Pipfile", import.meta.url), "utf8");

const lockText = (hash: string) =>
  JSON.stringify({
    _meta: {
      hash: { sha256: hash },
      "pipfile-spec": 6,
      requires: { python_version: "3.12" },
      sources: [
        PIPENV_DEFAULT_SOURCE,
        { name: "private", url: "http://127.0.0.1:8080/simple", verify_ssl: false },
      ],
    },
    default: {
      requests: {
        hashes: [`sha256:${"1".repeat(64)}`, `sha256:${"2".repeat(64)}`],
        version: "==2.31.0",
      },
      "ruamel.yaml": {
        hashes: [`sha256:${"3".repeat(64)}`],
        markers: "sys_platform == 'linux'",
        version: "==0.18.6",
      },
      pywin32: {
        hashes: [`sha256:${"4".repeat(64)}`],
        markers: "sys_platform == 'win32'",
        version: "==306",
      },
      internal: { hashes: [`sha256:${"5".repeat(64)}`], index: "private", version: "==1.2" },
    },
    develop: {
      pytest: { hashes: [`sha256:${"6".repeat(64)}`], version: "==8.3.3" },
      mytool: { editable: true, path: "./tools" },
    },
    lambda: { mangum: { hashes: [`sha256:${"7".repeat(64)}`], version: "==0.19.0" } },
  });

const select = (text: string, runtime: string, groups: string[] = []) =>
  parsePipfileLock(text, "/p/Pipfile.lock")
    .select(makeTarget(runtime, "x86_64"), { extras: [], groups })
    .map(
      (item) =>
        `${item.name}==${item.version}${item.unsupported === undefined ? "" : " (unsupported)"}`,
    )
    .sort();

describe("Pipfile.lock", () => {
  const text = lockText("0");

  it("installs default by marker; develop and other categories on request", () => {
    expect(select(text, "python3.12")).toEqual([
      "internal==1.2",
      "requests==2.31.0",
      "ruamel-yaml==0.18.6",
    ]);
    expect(select(text, "python3.12", ["dev", "lambda"])).toEqual([
      "internal==1.2",
      "mangum==0.19.0",
      "mytool==",
      "pytest==8.3.3",
      "requests==2.31.0",
      "ruamel-yaml==0.18.6",
    ]);
    expect(() => select(text, "python3.12", ["docs"])).toThrow(/no dependency group "docs"/);
  });

  it("looks files up by hash on the package's source; pipenv's default source means the configured index", () => {
    const items = parsePipfileLock(text, "/p/Pipfile.lock").select(
      makeTarget("python3.12", "x86_64"),
      {
        extras: [],
        groups: [],
      },
    );
    expect(items.find((item) => item.name === "requests")!.indexLookup).toEqual({
      index: undefined,
      files: [{ hashes: { sha256: "1".repeat(64) } }, { hashes: { sha256: "2".repeat(64) } }],
    });
    expect(items.find((item) => item.name === "internal")!.indexLookup!.index).toBe(
      "http://127.0.0.1:8080/simple",
    );
  });

  it("warns when the target's Python is not the locked one", () => {
    const lock = parsePipfileLock(text, "/p/Pipfile.lock");
    lock.select(makeTarget("python3.11", "x86_64"), { extras: [], groups: [] });
    expect(lock.warnings.join()).toContain("locked for Python 3.12");
  });

  it("checks _meta.hash against the Pipfile (plette's hash or pipenv's normalized one)", () => {
    const hashes = golden.pipfile["app.Pipfile"]!;
    for (const hash of [hashes.plette, hashes.normalized]) {
      expect(() =>
        parsePipfileLock(lockText(hash), "/p/Pipfile.lock", {
          pipfile: { text: PIPFILE, path: "/p/Pipfile" },
        }),
      ).not.toThrow();
    }
    expect(() =>
      parsePipfileLock(lockText(hashes.plette), "/p/Pipfile.lock", {
        pipfile: { text: PIPFILE.replace('pytest = "*"', 'pytest = ">=8"'), path: "/p/Pipfile" },
      }),
    ).toThrow(/out of date with \/p\/Pipfile/);
  });

  it("rejects invalid JSON and unknown sources with the file name", () => {
    expect(() => parsePipfileLock("{", "/p/Pipfile.lock")).toThrow(/\/p\/Pipfile.lock/);
    const bad = JSON.parse(text);
    bad.default.internal.index = "nowhere";
    expect(() => select(JSON.stringify(bad), "python3.12")).toThrow(/no source named "nowhere"/);
  });
});

describe("Pipfile.lock git, path and file entries", () => {
  const sha = "a".repeat(64);
  it.each<[string, Record<string, unknown>, { url: string; editable?: boolean }]>([
    [
      "git at the locked ref, with a subdirectory",
      { git: "https://git.example.com/o/r.git", ref: "0123abc", subdirectory: "pkg" },
      { url: "git+https://git.example.com/o/r.git@0123abc#subdirectory=pkg" },
    ],
    [
      "git+ URL and ssh",
      { git: "git+ssh://git@git.example.com/o/r.git", ref: "v1" },
      { url: "git+ssh://git@git.example.com/o/r.git@v1" },
    ],
    [
      "editable path, relative to the lock",
      { editable: true, path: "./tools" },
      { url: "file:///p/tools", editable: true },
    ],
    [
      "path to an archive",
      { path: "../dist/pkg-1.0.tar.gz" },
      { url: "file:///dist/pkg-1.0.tar.gz" },
    ],
    [
      "file URL with its one sha256",
      { file: "https://files.example.com/pkg-1.0.tar.gz", hashes: [`sha256:${sha}`] },
      { url: `https://files.example.com/pkg-1.0.tar.gz#sha256=${sha}` },
    ],
  ])("%s", (_title, entry, direct) => {
    const text = JSON.stringify({
      _meta: { "pipfile-spec": 6, sources: [{ name: "local", url: "http://127.0.0.1:9/simple" }] },
      default: { pkg: entry },
      develop: {},
    });
    const [item] = parsePipfileLock(text, "/p/Pipfile.lock").select(
      makeTarget("python3.12", "x86_64"),
      { extras: [], groups: [] },
    );
    expect(item!.unsupported).toBeUndefined();
    expect(item!.direct).toEqual(direct);
  });
});
