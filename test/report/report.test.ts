import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { buildLayer } from "../../src/pipeline/index.js";
import {
  analyzeLayer,
  LAMBDA_UNZIPPED_LIMIT,
  type LayerReport,
  renderReportHtml,
  squarify,
  UNATTRIBUTED,
} from "../../src/report/index.js";
import { formatPercent } from "../../src/strings.js";
import { writeDeterministicZip } from "../../src/zip/index.js";
import { writeWheels } from "../helpers/wheels.js";

describe("squarify", () => {
  const cases: [label: string, values: number[], width: number, height: number][] = [
    ["the paper's example", [6, 6, 4, 3, 2, 2, 1], 6, 4],
    ["one value", [1], 100, 10],
    ["a zero among values", [5, 0, 5], 10, 10],
    ["skewed values", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100, 1000], 800, 300],
    ["200 values, tall", Array.from({ length: 200 }, (_, index) => (index % 7) + 1), 300, 900],
  ];
  it.each(cases)("tiles %s into %d×%d", (_label, values, width, height) => {
    const rects = squarify(values, 10, 20, width, height);
    const total = values.reduce((sum, value) => sum + value, 0);
    expect(rects).toHaveLength(values.length);
    let area = 0;
    rects.forEach((rect, index) => {
      // Area proportional to the value, and inside the bounds.
      const expected = (values[index]! / total) * width * height;
      expect(rect.width * rect.height).toBeCloseTo(expected, 6);
      expect(rect.x).toBeGreaterThanOrEqual(10 - 1e-9);
      expect(rect.y).toBeGreaterThanOrEqual(20 - 1e-9);
      expect(rect.x + rect.width).toBeLessThanOrEqual(10 + width + 1e-9);
      expect(rect.y + rect.height).toBeLessThanOrEqual(20 + height + 1e-9);
      area += rect.width * rect.height;
    });
    expect(area).toBeCloseTo(width * height, 6);
    // No two rectangles overlap.
    const overlaps: [number, number][] = [];
    for (let left = 0; left < rects.length; left++) {
      for (let right = left + 1; right < rects.length; right++) {
        const a = rects[left]!;
        const b = rects[right]!;
        const overlapX = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
        const overlapY = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
        if (overlapX > 1e-9 && overlapY > 1e-9) overlaps.push([left, right]);
      }
    }
    expect(overlaps).toEqual([]);
  });

  it("keeps the worst aspect ratio low for the paper's example", () => {
    // Bruls et al. (2000), figure 4: 6, 6, 4, 3, 2, 2, 1 in a 6×4 rectangle.
    const rects = squarify([6, 6, 4, 3, 2, 2, 1], 0, 0, 6, 4);
    const worst = Math.max(
      ...rects.map((rect) => Math.max(rect.width / rect.height, rect.height / rect.width)),
    );
    expect(worst).toBeLessThan(3);
  });
});

describe("analyzeLayer and the report command", () => {
  let root: string;
  let layerPath: string;
  let report: LayerReport;
  const env = { PIP_CONFIG_FILE: "/dev/null", PATH: process.env.PATH };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "pylayer-report-test-"));
    const wheelFolder = join(root, "wheels");
    await writeWheels(wheelFolder, [
      {
        name: "bigdata",
        version: "3.1",
        requires: ["small-util", "mid_lib"],
        files: {
          "bigdata/__init__.py": "from . import engine\n",
          "bigdata/engine.py": "x = 1\n",
          "bigdata/_native.so": randomBytes(900_000),
          "bigdata/tests/test_engine.py": `${"# test\n".repeat(20_000)}`,
          "bigdata/engine.pyi": "x: int\n",
        },
      },
      {
        name: "mid_lib",
        version: "0.9",
        files: { "mid_lib/__init__.py": "", "mid_lib/blob.bin": randomBytes(300_000) },
      },
      { name: "small-util", version: "2.0" },
    ]);
    layerPath = join(root, "layer.zip");
    await buildLayer({
      requirements: ["bigdata"],
      runtimes: ["python3.12"],
      output: layerPath,
      index: { findLinks: [wheelFolder], noIndex: true },
      noCache: true,
      env,
      cwd: root,
    });
    report = await analyzeLayer(layerPath, { top: 3 });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("attributes every file to its distribution through RECORD", () => {
    expect(report.packages.map((usage) => [usage.name, usage.version])).toEqual([
      ["bigdata", "3.1"],
      ["mid_lib", "0.9"],
      ["small-util", "2.0"],
    ]);
    expect(report.files.every((file) => file.package !== UNATTRIBUTED)).toBe(true);
    const total = report.packages.reduce((sum, usage) => sum + usage.size, 0);
    expect(total).toBe(report.unzippedSize);
    expect(report.fileCount).toBe(report.files.length);
    const bigdata = report.packages[0]!;
    expect(bigdata.percentOfLimit).toBeCloseTo((bigdata.size / LAMBDA_UNZIPPED_LIMIT) * 100, 1);
    expect(report.manifest?.runtimes).toEqual(["python3.12"]);
  });

  it("lists the biggest files and what --slim would save", () => {
    expect(report.biggestFiles.map((file) => file.path)).toEqual([
      "python/bigdata/_native.so",
      "python/mid_lib/blob.bin",
      "python/bigdata/tests/test_engine.py",
    ]);
    const reasons = Object.fromEntries(report.slim.byReason.map((row) => [row.reason, row.files]));
    expect(reasons).toMatchObject({ tests: 1, stubs: 1 });
    expect(reasons["dist-info"]).toBeGreaterThanOrEqual(6);
    expect(report.slim.bytes).toBeGreaterThan(140_000);
  });

  it("attributes files of zips written by other tools (pip's pycs, no RECORD row)", async () => {
    const foreign = join(root, "foreign.zip");
    const bytes = (text: string) => ({ kind: "bytes" as const, data: Buffer.from(text) });
    await writeDeterministicZip(foreign, [
      { name: "python/tool/__init__.py", mode: 0o644, source: bytes("print(1)\n") },
      {
        name: "python/tool/__pycache__/__init__.cpython-311.pyc",
        mode: 0o644,
        source: bytes("\xa7\r\r\n\0\0\0\0stale timestamp pyc"),
      },
      {
        name: "python/tool-1.2.dist-info/METADATA",
        mode: 0o644,
        source: bytes("Name: Tool\nVersion: 1.2\n"),
      },
      {
        name: "python/tool-1.2.dist-info/RECORD",
        mode: 0o644,
        source: bytes("tool/__init__.py,,\ntool-1.2.dist-info/METADATA,,\n"),
      },
      { name: "python/loose.txt", mode: 0o644, source: bytes("nobody's\n") },
    ]);
    const foreignReport = await analyzeLayer(foreign);
    expect(foreignReport.manifest).toBeUndefined();
    expect(
      Object.fromEntries(foreignReport.files.map((file) => [file.path, file.package])),
    ).toEqual({
      "python/tool/__init__.py": "Tool",
      "python/tool/__pycache__/__init__.cpython-311.pyc": "Tool",
      "python/tool-1.2.dist-info/METADATA": "Tool",
      "python/tool-1.2.dist-info/RECORD": "Tool",
      "python/loose.txt": UNATTRIBUTED,
    });
    expect(foreignReport.slim.byReason).toEqual([
      {
        reason: "bytecode",
        files: 1,
        bytes: Buffer.byteLength("\xa7\r\r\n\0\0\0\0stale timestamp pyc"),
      },
    ]);
  });

  it("prints sizes and percentages in the units and rounding of `check` (issue 18, point 15)", async () => {
    const report = await runCli(["report", layerPath]);
    const check = await runCli(["check", layerPath, "--runtime", "python3.11", "--no-import-test"]);
    const reported = /: ([\d.]+ MiB) unzipped \(([\d.]+%) of the 250 MiB limit\)/.exec(
      report.stdout,
    );
    const checked = /([\d.]+ MiB) unzipped \(([\d.]+%) of the 250 MiB limit/.exec(
      check.stdout + check.stderr,
    );
    expect(reported, report.stdout).not.toBeNull();
    expect(checked, check.stdout + check.stderr).not.toBeNull();
    expect(checked?.slice(1)).toEqual(reported?.slice(1));
    expect(`${report.stdout}${check.stdout}${check.stderr}`).not.toMatch(/\d MB\b| %/);
  });

  it.each([
    [374_400, 1_000_000, "37.4%"],
    [374_500, 1_000_000, "37.5%"],
    [98_140_000, 262_144_000, "37.4%"],
    [0, 0, "0.0%"],
  ])("formatPercent(%i, %i) = %s, one decimal as every command prints it", (part, whole, text) => {
    expect(formatPercent(part, whole)).toBe(text);
  });

  it("refuses a file that is not a zip", async () => {
    const notZip = join(root, "not.zip");
    await writeFile(notZip, "hello");
    await expect(analyzeLayer(notZip)).rejects.toMatchObject({ code: "invalid-zip" });
  });

  it("prints the report and writes the HTML page from the CLI", async () => {
    const htmlPath = join(root, "cli-report.html");
    const { code, stdout } = await runCli(["report", layerPath, "--html", htmlPath, "--top", "2"]);
    expect(code).toBe(0);
    expect(stdout).toContain("of the 250 MiB limit");
    expect(stdout).toMatch(/bigdata 3\.1\s+\d/);
    expect(stdout).toContain("python/bigdata/_native.so");
    expect(stdout).toContain("--slim would save");
    expect((await stat(htmlPath)).size).toBeGreaterThan(1000);

    const json = await runCli(["report", layerPath, "--json"]);
    const parsed = JSON.parse(json.stdout) as LayerReport & { ok: boolean };
    expect(parsed.ok).toBe(true);
    expect(parsed.packages).toHaveLength(3);
    expect("files" in parsed).toBe(false);
  });

  it("renders a self-contained page: inline data, no external references", () => {
    const html = renderReportHtml(report);
    expect(html).not.toMatch(/<(?:script|link|img|iframe)[^>]+(?:src|href)=/i);
    expect(html).not.toMatch(/url\(\s*['"]?(?:https?:)?\/\//i);
    expect(html).toContain("default-src 'none'");
    // A file name cannot close the data script.
    const hostile = renderReportHtml({
      ...report,
      files: [{ path: "python/</script><b>x.py", size: 1, compressedSize: 1, package: "bigdata" }],
    });
    expect(hostile.match(/<\/script>/g)).toHaveLength(2);
  });

  const chromium = "/usr/bin/chromium";
  const haveChromium = existsSync(chromium);
  it.skipIf(!haveChromium && process.env.PYLAYER_CI !== "1")(
    "renders the treemap in headless Chromium, one rectangle per package, offline",
    async () => {
      if (!haveChromium) throw new Error(`${chromium} is missing (apt-get install chromium)`);
      const { chromium: launcher } = await import("playwright-core");
      const htmlPath = join(root, "report.html");
      await writeFile(htmlPath, renderReportHtml(report));
      const profile = join(root, "chromium-profile");
      await mkdir(profile);
      const context = await launcher.launchPersistentContext(profile, {
        executablePath: chromium,
        headless: true,
        viewport: { width: 1280, height: 900 },
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      });
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        const requests: string[] = [];
        const errors: string[] = [];
        page.on("request", (request) => requests.push(request.url()));
        page.on("pageerror", (error) => errors.push(error.message));
        await page.goto(pathToFileURL(htmlPath).href);
        await page.waitForSelector("body[data-ready=true]");

        const packages = page.locator("#treemap [data-kind=package]");
        expect(await packages.count()).toBe(report.packages.length);
        expect(
          await packages.evaluateAll((nodes) => nodes.map((node) => node.dataset.name)),
        ).toEqual(["bigdata 3.1", "mid_lib 0.9", "small-util 2.0"]);
        expect(
          await page.locator('#treemap [data-kind=file][data-name="_native.so"]').count(),
        ).toBe(1);
        expect(await page.locator("#budget .segment").count()).toBe(report.packages.length);
        const largest = await packages.first().boundingBox();
        expect(largest!.width * largest!.height).toBeGreaterThan(100_000);

        // Hover the package's header strip: the tooltip names it with its share of the limit.
        await packages.first().hover({ position: { x: 8, y: 6 } });
        const tooltip = page.locator("#tooltip");
        await expect.poll(() => tooltip.isVisible()).toBe(true);
        expect(await tooltip.textContent()).toMatch(/bigdata 3\.1[\s\S]*of the 250 MiB limit/);

        const screenshotFolder = join(tmpdir(), "pylayer-test-output");
        await mkdir(screenshotFolder, { recursive: true });
        const screenshot = join(screenshotFolder, "report-treemap.png");
        await page.screenshot({ path: screenshot, fullPage: true });
        expect((await readFile(screenshot)).subarray(1, 4).toString()).toBe("PNG");

        // Zooming into a package shows its folders and a breadcrumb back.
        await packages.first().click({ position: { x: 8, y: 6 } });
        expect(await page.locator("#treemap [data-kind=package]").count()).toBe(0);
        expect(await page.locator("#crumbs a").count()).toBe(2);

        expect(errors).toEqual([]);
        expect(requests.filter((url) => !url.startsWith("file:"))).toEqual([]);
      } finally {
        await context.close();
      }
    },
  );
});

async function runCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const originalOut = process.stdout.write.bind(process.stdout);
  const originalErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(argv, { NO_COLOR: "1", PATH: process.env.PATH });
    return { code, stdout: stdout.join(""), stderr: stderr.join("") };
  } finally {
    process.stdout.write = originalOut;
    process.stderr.write = originalErr;
  }
}
