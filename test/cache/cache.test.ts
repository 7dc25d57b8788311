import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Cache, type CachedPage, defaultCacheDir, sha256Hex } from "../../src/cache/index.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "pylayer-cache-test-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("defaultCacheDir", () => {
  const cases: [string, NodeJS.ProcessEnv, NodeJS.Platform, string, string][] = [
    [
      "explicit variable wins",
      { PYLAYER_CACHE_DIR: "/x/cache", XDG_CACHE_HOME: "/xdg" },
      "linux",
      "/home/u",
      "/x/cache",
    ],
    ["linux XDG_CACHE_HOME", { XDG_CACHE_HOME: "/xdg" }, "linux", "/home/u", "/xdg/pylayer"],
    [
      "linux relative XDG_CACHE_HOME is ignored",
      { XDG_CACHE_HOME: "rel" },
      "linux",
      "/home/u",
      "/home/u/.cache/pylayer",
    ],
    ["linux default", {}, "linux", "/home/u", "/home/u/.cache/pylayer"],
    ["macOS", { XDG_CACHE_HOME: "/xdg" }, "darwin", "/Users/u", "/Users/u/Library/Caches/pylayer"],
    [
      "windows LOCALAPPDATA",
      { LOCALAPPDATA: "C:\\Users\\u\\AppData\\Local" },
      "win32",
      "C:\\Users\\u",
      "C:\\Users\\u\\AppData\\Local\\pylayer\\Cache",
    ],
    [
      "windows without LOCALAPPDATA",
      {},
      "win32",
      "C:\\Users\\u",
      "C:\\Users\\u\\AppData\\Local\\pylayer\\Cache",
    ],
    [
      "empty explicit variable is unset",
      { PYLAYER_CACHE_DIR: "" },
      "linux",
      "/home/u",
      "/home/u/.cache/pylayer",
    ],
  ];
  it.each(cases)("%s", (_name, env, platform, home, expected) => {
    expect(defaultCacheDir(env, platform, home)).toBe(expected);
  });
});

const page = (url: string, body: string): CachedPage => ({
  url,
  finalUrl: url,
  status: 200,
  contentType: "text/html",
  etag: '"abc"',
  lastModified: undefined,
  body,
  storedAt: new Date(0).toISOString(),
});

describe("Cache", () => {
  it("stores wheels by sha256 in a versioned bucket", async () => {
    const cache = new Cache(root);
    const bytes = new TextEncoder().encode("wheel bytes");
    const sha256 = sha256Hex(bytes);
    expect(await cache.getWheel(sha256, "demo-1.0-py3-none-any.whl")).toBeNull();
    const path = await cache.putWheelBytes(bytes, sha256, "demo-1.0-py3-none-any.whl");
    expect(path).toBe(
      join(root, "wheels-v1", "sha256", sha256.slice(0, 2), sha256, "demo-1.0-py3-none-any.whl"),
    );
    expect(await cache.getWheel(sha256, "demo-1.0-py3-none-any.whl")).toBe(path);
  });

  it("refuses to store wheel bytes that do not match their hash", async () => {
    const cache = new Cache(root);
    await expect(
      cache.putWheelBytes(new Uint8Array([1, 2, 3]), "0".repeat(64), "demo-1.0-py3-none-any.whl"),
    ).rejects.toThrow(/refusing/);
    expect(await readdir(root)).toEqual([]);
  });

  it("treats a corrupted wheel as a miss and removes it", async () => {
    const cache = new Cache(root);
    const bytes = new TextEncoder().encode("wheel bytes");
    const sha256 = sha256Hex(bytes);
    const path = await cache.putWheelBytes(bytes, sha256, "demo-1.0-py3-none-any.whl");
    await writeFile(path, "tampered");
    expect(await cache.getWheel(sha256, "demo-1.0-py3-none-any.whl")).toBeNull();
    await expect(readFile(path)).rejects.toThrow();
  });

  it("rejects filenames that would escape the bucket", () => {
    const cache = new Cache(root);
    expect(() => cache.wheelPath("a".repeat(64), "../evil.whl")).toThrow();
    expect(() => cache.wheelPath("not-a-hash", "demo.whl")).toThrow();
  });

  it("round-trips pages, keyed by URL", async () => {
    const cache = new Cache(root);
    await cache.putPage(page("https://example.org/simple/a/", "<a>"));
    expect((await cache.getPage("https://example.org/simple/a/"))?.body).toBe("<a>");
    expect(await cache.getPage("https://example.org/simple/b/")).toBeNull();
  });

  it("round-trips metadata by sha256 and by URL", async () => {
    const cache = new Cache(root);
    const sha256 = "b".repeat(64);
    await cache.putMetadata({ sha256 }, "Name: a\n");
    await cache.putMetadata({ url: "https://example.org/a.whl" }, "Name: b\n");
    expect(await cache.getMetadata({ sha256 })).toBe("Name: a\n");
    expect(await cache.getMetadata({ url: "https://example.org/a.whl" })).toBe("Name: b\n");
    expect(await cache.getMetadata({ url: "https://example.org/other.whl" })).toBeNull();
  });

  const corruptions: [string, (text: string) => string][] = [
    ["truncated", (text) => text.slice(0, text.length / 2)],
    ["not JSON", () => "\u0000\u0001garbage"],
    ["empty", () => ""],
    ["valid JSON, wrong shape", () => JSON.stringify({ hello: "world" })],
    ["content changed after write", (text) => text.replace("Name: a", "Name: z")],
  ];
  it.each(corruptions)(
    "treats a %s metadata entry as a miss, then overwrites it",
    async (_name, corrupt) => {
      const cache = new Cache(root);
      const key = { sha256: "c".repeat(64) };
      await cache.putMetadata(key, "Name: a\n");
      const [file] = await findFiles(join(root, "metadata-v1"));
      await writeFile(file!, corrupt(await readFile(file!, "utf8")));
      expect(await cache.getMetadata(key)).toBeNull();
      await cache.putMetadata(key, "Name: a\n");
      expect(await cache.getMetadata(key)).toBe("Name: a\n");
    },
  );

  it.each(corruptions)("treats a %s page entry as a miss", async (_name, corrupt) => {
    const cache = new Cache(root);
    await cache.putPage(page("https://example.org/simple/a/", "Name: a"));
    const [file] = await findFiles(join(root, "simple-v1"));
    await writeFile(file!, corrupt(await readFile(file!, "utf8")));
    const result = await cache.getPage("https://example.org/simple/a/");
    // "content changed" still parses as a page (pages carry no checksum); everything else is a miss.
    if (_name === "content changed after write") expect(result?.body).toBe("Name: z");
    else expect(result).toBeNull();
  });

  it("keeps a valid entry when writers race in one process", async () => {
    const cache = new Cache(root);
    const key = { sha256: "d".repeat(64) };
    const bodies = Array.from({ length: 20 }, (_, index) => `Name: writer-${index}\n`);
    const bytes = new TextEncoder().encode("same wheel");
    const sha256 = sha256Hex(bytes);
    await Promise.all([
      ...bodies.map((body) => cache.putMetadata(key, body)),
      ...bodies.map(() => cache.putWheelBytes(bytes, sha256, "demo-1.0-py3-none-any.whl")),
    ]);
    expect(bodies).toContain(await cache.getMetadata(key));
    expect(await cache.getWheel(sha256, "demo-1.0-py3-none-any.whl")).not.toBeNull();
    // No temporary files are left behind.
    const leftovers = (await findFiles(root)).filter(
      (path) => path.endsWith(".tmp") || path.includes("/.tmp/"),
    );
    expect(leftovers).toEqual([]);
  });

  it("keeps a valid entry when two processes write the same keys", async () => {
    // The cache module imports only Node built-ins and ../files.js, so transpiled copies
    // run in plain node.
    const transpiled = join(root, "transpiled");
    await mkdir(join(transpiled, "cache"), { recursive: true });
    await writeFile(join(transpiled, "package.json"), '{"type":"module"}');
    for (const name of ["cache/index", "files"]) {
      const source = await readFile(
        join(dirname(fileURLToPath(import.meta.url)), `../../src/${name}.ts`),
        "utf8",
      );
      const compiled = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      await writeFile(join(transpiled, `${name}.js`), compiled);
    }
    const modulePath = join(transpiled, "cache", "index.js");
    const cacheRoot = join(root, "cache");
    const writer = join(root, "writer.mjs");
    await writeFile(
      writer,
      `import { Cache, sha256Hex } from ${JSON.stringify(modulePath)};
const [, , cacheRoot, label] = process.argv;
const cache = new Cache(cacheRoot);
const wheel = new TextEncoder().encode("shared wheel content ".repeat(5000));
for (let index = 0; index < 40; index++) {
  await cache.putMetadata({ sha256: "e".repeat(64) }, "Name: " + label + "-" + index + "\\n" + "x".repeat(20000));
  await cache.putWheelBytes(wheel, sha256Hex(wheel), "demo-1.0-py3-none-any.whl");
  await cache.putPage({ url: "https://example.org/simple/demo/", finalUrl: "https://example.org/simple/demo/", status: 200, body: label.repeat(10000), storedAt: "x" });
}
`,
    );
    const run = (label: string) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, [writer, cacheRoot, label], { stdio: "inherit" });
        child.on("error", reject);
        child.on("exit", (code) =>
          code === 0 ? resolve() : reject(new Error(`writer ${label} exited ${code}`)),
        );
      });
    const cache = new Cache(cacheRoot);
    const observed: (string | null)[] = [];
    let running = true;
    const reader = (async () => {
      while (running) {
        // Cache entries are read synchronously: let the writers' exit events in.
        await new Promise((resolve) => setImmediate(resolve));
        observed.push(await cache.getMetadata({ sha256: "e".repeat(64) }));
        const cachedPage = await cache.getPage("https://example.org/simple/demo/");
        if (cachedPage !== null)
          expect(["A".repeat(10000), "B".repeat(10000)]).toContain(cachedPage.body);
      }
    })();
    await Promise.all([run("A"), run("B")]);
    running = false;
    await reader;
    // Every read saw a complete entry, and once the entry existed it never vanished:
    // a torn write would read as a miss after the first hit.
    const firstHit = observed.findIndex((value) => value !== null);
    for (const value of firstHit < 0 ? [] : observed.slice(firstHit)) {
      expect(value).toMatch(/^Name: [AB]-\d+\nx{20000}$/);
    }
    const final = await cache.getMetadata({ sha256: "e".repeat(64) });
    expect(final).toMatch(/^Name: [AB]-39\nx{20000}$/);
    const wheel = new TextEncoder().encode("shared wheel content ".repeat(5000));
    expect(await cache.getWheel(sha256Hex(wheel), "demo-1.0-py3-none-any.whl")).not.toBeNull();
  });
});

async function findFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) =>
      join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name),
    );
}
