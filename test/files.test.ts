import { createHash } from "node:crypto";
import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BatchedWriter, forEachBlock, HASHING_READ_SIZE, hashFile } from "../src/files.js";

const folders: string[] = [];
afterAll(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

/** Files of 0 bytes to a few blocks, each with its own bytes. */
async function sampleFiles(): Promise<{ path: string; bytes: Buffer }[]> {
  const folder = await mkdtemp(join(tmpdir(), "pylayer-files-"));
  folders.push(folder);
  const sizes = [0, 1, 4096, HASHING_READ_SIZE, HASHING_READ_SIZE + 1, 3 * HASHING_READ_SIZE + 17];
  return Promise.all(
    sizes.map(async (size, index) => {
      const bytes = Buffer.alloc(size);
      for (let at = 0; at < size; at++) bytes[at] = (at * 31 + index * 7) & 0xff;
      const path = join(folder, `file-${index}.bin`);
      await writeFile(path, bytes);
      return { path, bytes };
    }),
  );
}

describe("hashFile and forEachBlock (files read two at a time, block buffers reused)", () => {
  it("hashes many files at once exactly as hashing their bytes does", async () => {
    const files = await sampleFiles();
    const many = [...files, ...files, ...files];
    const results = await Promise.all(many.map(({ path }) => hashFile(path)));
    expect(results.map(({ size, digest }) => [size, digest.toString("hex")])).toEqual(
      many.map(({ bytes }) => [bytes.length, createHash("sha256").update(bytes).digest("hex")]),
    );
  });

  it("frees its turn when the block handler throws, so later reads still run", async () => {
    const files = await sampleFiles();
    const failing = files.filter(({ bytes }) => bytes.length > 0);
    const outcomes = await Promise.allSettled(
      failing.map(({ path }) =>
        forEachBlock(path, () => {
          throw new Error("handler failed");
        }),
      ),
    );
    expect(outcomes.every((outcome) => outcome.status === "rejected")).toBe(true);
    const last = files.at(-1)!;
    expect((await hashFile(last.path)).digest).toEqual(
      createHash("sha256").update(last.bytes).digest(),
    );
  });
});

describe("BatchedWriter (a download's chunks written a batch at a time)", () => {
  it("writes every chunk in order, across batches and short final batches", async () => {
    const folder = await mkdtemp(join(tmpdir(), "pylayer-files-"));
    folders.push(folder);
    const path = join(folder, "download.part");
    const chunks = Array.from({ length: 300 }, (_, index) =>
      Buffer.alloc(1000 + ((index * 97) % 5000), index & 0xff),
    );
    const handle = await open(path, "w");
    const writer = new BatchedWriter(handle, 64 * 1024);
    for (const chunk of chunks) await writer.add(chunk);
    await writer.finish();
    await handle.close();
    expect((await readFile(path)).equals(Buffer.concat(chunks))).toBe(true);
  });

  it("surfaces a failed write", async () => {
    const folder = await mkdtemp(join(tmpdir(), "pylayer-files-"));
    folders.push(folder);
    const path = join(folder, "read-only.part");
    await writeFile(path, "");
    // Opened for reading: every write fails (EBADF).
    const handle = await open(path, "r");
    const writer = new BatchedWriter(handle, 16);
    const outcome = (async () => {
      for (let index = 0; index < 10; index++) await writer.add(Buffer.alloc(10, index));
      await writer.finish();
    })();
    await expect(outcome).rejects.toMatchObject({ code: "EBADF" });
    await writer.settle();
    await handle.close();
  });
});
