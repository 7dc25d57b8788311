import { unzipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { buildWheel, expandTags } from "./helpers/wheels.js";

describe("test wheel builder", () => {
  it("writes a wheel with METADATA, WHEEL and RECORD", () => {
    const wheel = buildWheel({
      name: "Demo.Pkg",
      version: "1.0",
      requires: ["six>=1"],
      extras: { fast: ["ujson; python_version >= '3.8'"] },
      consoleScripts: { demo: "demo_pkg:main" },
    });
    expect(wheel.filename).toBe("Demo_Pkg-1.0-py3-none-any.whl");
    const entries = unzipSync(wheel.bytes);
    expect(Object.keys(entries).sort()).toEqual([
      "Demo_Pkg-1.0.dist-info/METADATA",
      "Demo_Pkg-1.0.dist-info/RECORD",
      "Demo_Pkg-1.0.dist-info/WHEEL",
      "Demo_Pkg-1.0.dist-info/entry_points.txt",
      "demo_pkg/__init__.py",
    ]);
    expect(wheel.metadata).toContain(
      `Requires-Dist: ujson; (python_version >= '3.8') and extra == "fast"`,
    );
  });

  it("expands compressed tag sets", () => {
    expect(expandTags("py2.py3-none-any")).toEqual(["py2-none-any", "py3-none-any"]);
  });
});
