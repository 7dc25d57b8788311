import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { setHashThreadEnabled, WrittenFileHash } from "../src/hash-thread.js";

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "pylayer-hash-thread-"));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});
afterEach(() => setHashThreadEnabled(true));

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Writes `content` to `path` in `pieces` writes, telling `hash` after each one, as the zip writer does. */
async function writeInPieces(path: string, content: Buffer, pieces: number, hash: WrittenFileHash) {
  const handle = await open(path, "w");
  try {
    const step = Math.ceil(content.length / pieces);
    for (let start = 0; start < content.length; start += step) {
      const end = Math.min(content.length, start + step);
      await handle.write(content, start, end - start, start);
      hash.written(end);
    }
  } finally {
    await handle.close();
  }
}

describe.each([
  ["on the hashing thread", true],
  ["on the main thread (no thread available)", false],
])("WrittenFileHash %s", (_label, threaded) => {
  it("gives the sha256 of the bytes written, range by range", async () => {
    setHashThreadEnabled(threaded);
    for (const [size, pieces] of [
      [0, 1],
      [1, 1],
      [3 * 1024 * 1024 + 17, 7],
      [1024 * 1024, 1],
    ] as const) {
      const content = randomBytes(size);
      const path = join(folder, `written-${threaded}-${size}`);
      const hash = new WrittenFileHash(path);
      await writeInPieces(path, content, pieces, hash);
      const digest = await hash.finish(size);
      expect(digest.toString("hex"), `${size} bytes`).toBe(sha256(content));
    }
  });

  it("hashes several files written at once, each on its own", async () => {
    setHashThreadEnabled(threaded);
    const files = [0, 1, 2].map((index) => ({
      path: join(folder, `several-${threaded}-${index}`),
      content: randomBytes(1024 * 1024 + index * 4099),
    }));
    const hashes = files.map((file) => new WrittenFileHash(file.path));
    await Promise.all(
      files.map((file, index) => writeInPieces(file.path, file.content, 5, hashes[index]!)),
    );
    const digests = await Promise.all(
      files.map((file, index) => hashes[index]!.finish(file.content.length)),
    );
    expect(digests.map((digest) => digest.toString("hex"))).toEqual(
      files.map((file) => sha256(file.content)),
    );
  });

  it("rejects a file shorter than the bytes said to be written, and goes on hashing the next", async () => {
    setHashThreadEnabled(threaded);
    const path = join(folder, `short-${threaded}`);
    await writeFile(path, randomBytes(1000));
    const short = new WrittenFileHash(path);
    await expect(short.finish(2000)).rejects.toMatchObject({ code: "ESHORT" });
    const next = join(folder, `after-short-${threaded}`);
    const content = randomBytes(5000);
    const hash = new WrittenFileHash(next);
    await writeInPieces(next, content, 2, hash);
    expect((await hash.finish(content.length)).toString("hex")).toBe(sha256(content));
  });

  it("rejects a file that is not there with the file system's code", async () => {
    setHashThreadEnabled(threaded);
    const hash = new WrittenFileHash(join(folder, `missing-${threaded}`));
    await expect(hash.finish(10)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("ends without a digest when abandoned", async () => {
    setHashThreadEnabled(threaded);
    const path = join(folder, `abandoned-${threaded}`);
    const hash = new WrittenFileHash(path);
    await writeInPieces(path, randomBytes(3000), 3, hash);
    await hash.abandon();
    await expect(hash.finish(3000)).rejects.toThrow(/already ended/);
  });
});

describe("the hashing thread", () => {
  const script = (body: string) => `
    import { writeFileSync } from "node:fs";
    const { WrittenFileHash } = await import(${JSON.stringify(new URL("../dist/hash-thread.js", import.meta.url).href)});
    const path = ${JSON.stringify(join(tmpdir(), `pylayer-hash-thread-child-${process.pid}`))};
    writeFileSync(path, "pylayer");
    const hash = new WrittenFileHash(path);
    hash.written(7);
    ${body}
  `;

  it.each([
    [
      "finished",
      "console.log((await hash.finish(7)).toString('hex'));",
      sha256(Buffer.from("pylayer")),
    ],
    ["abandoned", "await hash.abandon(); console.log('abandoned');", "abandoned"],
  ])("lets the process exit once every hash is %s", async (_label, body, expected) => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--input-type=module", "-e", script(body)],
      { timeout: 20_000 },
    );
    expect(stdout.trim()).toBe(expected);
  });
});
