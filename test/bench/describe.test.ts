import { describe, expect, it } from "vitest";
import { describeIndex, matrixFailure, withoutMachinePaths } from "../../bench/describe.mjs";

describe("bench/RESULTS.md names no machine path", () => {
  it.each([
    ["file:///data/mirror/simple", 28, "a local file:// mirror of real wheels (28 distributions)"],
    ["file:///srv/mirror/simple/", undefined, "a local file:// mirror of real wheels"],
    ["http://127.0.0.1:40123/simple/", 36, "an index on loopback HTTP (36 distributions)"],
    ["http://localhost:8080/", 3, "an index on loopback HTTP (3 distributions)"],
    ["https://pypi.internal.example/simple", 5, "a remote HTTPS index (5 distributions)"],
    ["/home/someone/wheels", 2, "a local folder of wheels (2 distributions)"],
  ])("describes %s without its path or host", (url, count, expected) => {
    expect(describeIndex(url, count)).toBe(expected);
  });

  it.each([
    [
      "/tmp/pylayer-bench-pHvGXe/given-index/requirements.txt:4: No version of orjson",
      "…/requirements.txt:4: No version of orjson",
    ],
    ["read file:///data/mirror/files/a.whl failed", "read …/a.whl failed"],
    ["(at /home/someone/.cache/x.json)", "(at …/x.json)"],
    [
      "see https://index.example/simple/orjson/ and 3/4",
      "see https://index.example/simple/orjson/ and 3/4",
    ],
    ["python3.9-x86_64 and cp311", "python3.9-x86_64 and cp311"],
  ])("shortens the paths in %j", (text, expected) => {
    expect(withoutMachinePaths(text)).toBe(expected);
  });
});

describe("matrixFailure", () => {
  const target = (name: string, ok: boolean, unsatisfiable: string[] = []) => ({
    target: name,
    ok,
    ...(ok ? {} : { unsatisfiable }),
  });
  const output = (targets: unknown[]) =>
    JSON.stringify({
      ok: false,
      error: {
        code: "no-matching-distribution",
        message: "/tmp/x/requirements.txt:4: No version of orjson can be used",
        details: { targets },
      },
    });

  it("names the projects and the one target that resolved", () => {
    expect(
      matrixFailure(
        output([
          target("python3.9-x86_64", false, ["orjson", "sqlalchemy"]),
          target("python3.11-x86_64", true),
          target("python3.11-arm64", false, ["orjson", "psycopg2-binary"]),
        ]),
      ),
    ).toBe(
      "the index has no usable wheel of orjson, sqlalchemy, psycopg2-binary for 2 of 3 targets (every target but python3.11-x86_64)",
    );
  });

  it("lists the failed targets when most resolved", () => {
    expect(
      matrixFailure(
        output([
          target("python3.9-x86_64", false, ["numpy"]),
          target("python3.11-x86_64", true),
          target("python3.12-x86_64", true),
        ]),
      ),
    ).toBe("the index has no usable wheel of numpy for 1 of 3 targets (python3.9-x86_64)");
  });

  it("falls back to the error's first line, without paths", () => {
    expect(
      matrixFailure(
        JSON.stringify({
          ok: false,
          error: { code: "index-unreachable", message: "cannot read /opt/x/simple\nmore" },
        }),
      ),
    ).toBe("index-unreachable: cannot read …/simple");
    expect(matrixFailure("Segmentation fault at /usr/lib/x.so\n")).toBe(
      "Segmentation fault at …/x.so",
    );
  });
});
