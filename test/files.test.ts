import { createHash } from "node:crypto";
import { mkdtemp, open, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  BatchedWriter,
  copyFileVerified,
  forEachBlock,
  HASHING_READ_SIZE,
  hashFile,
  openFile,
} from "../src/files.js";

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

describe("openFile (opened and closed synchronously, read and written through the pool)", () => {
  const scratch = async () => {
    const folder = await mkdtemp(join(tmpdir(), "pylayer-open-"));
    folders.push(folder);
    return folder;
  };

  it("writes gathered buffers at positions and reads them back", async () => {
    const path = join(await scratch(), "data.bin");
    const file = await openFile(path, "wx");
    expect(await file.writev([Buffer.from("abc"), Buffer.from("def")], 0)).toEqual({
      bytesWritten: 6,
    });
    expect(await file.writev([Buffer.from("XY")], 2)).toEqual({ bytesWritten: 2 });
    await file.close();
    expect(await readFile(path, "utf8")).toBe("abXYef");
    const reading = await openFile(path, "r");
    expect(await reading.stat()).toMatchObject({ size: 6 });
    const buffer = Buffer.alloc(8, 0x2e);
    expect(await reading.read(buffer, 1, 4, 2)).toEqual({ bytesRead: 4 });
    expect(buffer.toString()).toBe(".XYef...");
    expect(await reading.read(buffer, 0, 8, 6)).toEqual({ bytesRead: 0 });
    await reading.close();
  });

  it("rejects (never throws) when the file cannot be opened, with fs.open's error", async () => {
    const missing = join(await scratch(), "missing.bin");
    const opening = openFile(missing, "r");
    await expect(opening).rejects.toMatchObject({ code: "ENOENT", path: missing });
    const folder = await scratch();
    await writeFile(join(folder, "taken"), "x");
    await expect(openFile(join(folder, "taken"), "wx")).rejects.toMatchObject({ code: "EEXIST" });
  });

  it("closes only after the reads in flight settle, then refuses reads and stats", async () => {
    const path = join(await scratch(), "large.bin");
    const bytes = Buffer.alloc(4 * HASHING_READ_SIZE);
    for (let at = 0; at < bytes.length; at++) bytes[at] = (at * 13) & 0xff;
    await writeFile(path, bytes);
    const file = await openFile(path, "r");
    const buffers = [0, 1, 2, 3].map(() => Buffer.alloc(HASHING_READ_SIZE));
    const reads = buffers.map((buffer, index) =>
      file.read(buffer, 0, HASHING_READ_SIZE, index * HASHING_READ_SIZE),
    );
    await file.close();
    // Every read started before the close completed with its bytes.
    expect((await Promise.all(reads)).map((result) => result.bytesRead)).toEqual(
      [0, 1, 2, 3].map(() => HASHING_READ_SIZE),
    );
    expect(Buffer.concat(buffers).equals(bytes)).toBe(true);
    await expect(file.read(Buffer.alloc(1), 0, 1, 0)).rejects.toMatchObject({ code: "EBADF" });
    await expect(file.stat()).rejects.toMatchObject({ code: "EBADF" });
    await file.close();
  });
});

describe("copyFileVerified", () => {
  const setUp = async () => {
    const folder = await mkdtemp(join(tmpdir(), "pylayer-copy-"));
    folders.push(folder);
    const source = join(folder, "source.zip");
    const bytes = Buffer.from("the bytes of a built layer");
    await writeFile(source, bytes);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    return { folder, source, bytes, sha256 };
  };
  const names = async (folder: string) => (await readdir(folder)).sort();

  for (const link of [false, true]) {
    it(`${link ? "links" : "copies"} a file whose bytes hash as expected, and reports their digest`, async () => {
      const { folder, source, bytes, sha256 } = await setUp();
      const destination = join(folder, "layer.zip");
      await writeFile(destination, "the previous layer");
      const copied = await copyFileVerified(source, destination, sha256, { link });
      expect(copied).toEqual({
        size: bytes.length,
        sha256,
        sha256Base64: createHash("sha256").update(bytes).digest("base64"),
        linked: link,
      });
      expect(await readFile(destination)).toEqual(bytes);
      const [sourceInfo, destinationInfo] = await Promise.all([stat(source), stat(destination)]);
      expect(destinationInfo.ino === sourceInfo.ino).toBe(link);
      expect(await names(folder)).toEqual(["layer.zip", "source.zip"]);
    });

    it(`${link ? "links" : "copies"} nothing when the bytes do not hash as expected`, async () => {
      const { folder, source } = await setUp();
      const destination = join(folder, "layer.zip");
      await writeFile(destination, "the previous layer");
      expect(await copyFileVerified(source, destination, "0".repeat(64), { link })).toBeNull();
      expect(await readFile(destination, "utf8")).toBe("the previous layer");
      expect(await names(folder)).toEqual(["layer.zip", "source.zip"]);
    });
  }

  it("copies when the destination is on another file system (no link across devices)", async (context) => {
    const { source, sha256, bytes } = await setUp();
    const other = await mkdtemp(join("/dev/shm", "pylayer-copy-")).catch(() => null);
    if (other === null) return context.skip("no /dev/shm on this machine");
    folders.push(other);
    if ((await stat(other)).dev === (await stat(source)).dev) {
      return context.skip("/dev/shm is on the temporary folder's file system here");
    }
    const destination = join(other, "layer.zip");
    expect(await copyFileVerified(source, destination, sha256, { link: true })).not.toBeNull();
    expect(await readFile(destination)).toEqual(bytes);
    expect((await stat(destination)).ino).not.toBe((await stat(source)).ino);
    expect(await names(other)).toEqual(["layer.zip"]);
  });

  it("leaves no temporary name when the destination already is a link to the source", async () => {
    const { folder, source, sha256 } = await setUp();
    const destination = join(folder, "layer.zip");
    expect(await copyFileVerified(source, destination, sha256, { link: true })).not.toBeNull();
    // Renaming a link onto another link of the same file leaves both names (rename(2)).
    expect(await copyFileVerified(source, destination, sha256, { link: true })).not.toBeNull();
    expect(await names(folder)).toEqual(["layer.zip", "source.zip"]);
  });
});
