/**
 * Local wheels (file:// indexes, find-links folders): METADATA is read in place, the
 * whole-file hash is remembered by file identity, and any change to the file is caught.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Cache } from "../../src/cache/index.js";
import { IndexClient, type IndexEvent, resolveIndexSettings } from "../../src/index/index.js";
import { writeFileIndex } from "../helpers/index-server.js";
import { temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

async function client(indexUrl: string, cacheRoot: string, events: IndexEvent[]) {
  const settings = await resolveIndexSettings({
    flags: { indexUrl },
    env: { PIP_CONFIG_FILE: "/dev/null" },
    homeDir: cacheRoot,
    cwd: cacheRoot,
  });
  return new IndexClient({
    settings,
    cache: new Cache(join(cacheRoot, "cache")),
    netrcPath: null,
    onEvent: (event) => events.push(event),
  });
}

describe("local wheels", () => {
  it("reads METADATA without hashing the wheel, then caches it by the announced sha256", async () => {
    const folder = await temporaryFolder();
    const wheel = buildWheel({ name: "local-pkg", version: "1.0", requires: ["other"] });
    const indexUrl = await writeFileIndex(join(folder, "index"), [wheel]);
    const events: IndexEvent[] = [];
    const first = await client(indexUrl, folder, events);
    const [file] = await first.getFiles("local-pkg");
    expect(await first.getMetadata(file!)).toBe(wheel.metadata);
    expect(events.some((event) => event.type === "download-done")).toBe(false);
    events.length = 0;
    const second = await client(indexUrl, folder, events);
    expect(await second.getMetadata((await second.getFiles("local-pkg"))[0]!)).toBe(wheel.metadata);
    expect(events).toContainEqual(expect.objectContaining({ type: "metadata", via: "cache" }));
  });

  it("reuses a local wheel's hash until the file changes, then catches the change", async () => {
    const folder = await temporaryFolder();
    const wheel = buildWheel({ name: "local-pkg", version: "1.0" });
    const indexUrl = await writeFileIndex(join(folder, "index"), [wheel]);
    const events: IndexEvent[] = [];
    const first = await client(indexUrl, folder, events);
    const file = (await first.getFiles("local-pkg"))[0]!;
    const { path, sha256 } = await first.download(file);
    expect(sha256).toBe(wheel.sha256);

    const second = await client(indexUrl, folder, events);
    expect((await second.download((await second.getFiles("local-pkg"))[0]!)).sha256).toBe(
      wheel.sha256,
    );

    // Same size, different bytes: the recorded hash no longer applies and the check fails.
    const bytes = await readFile(path);
    bytes[bytes.length - 30] = bytes[bytes.length - 30]! ^ 0xff;
    await writeFile(path, bytes);
    const third = await client(indexUrl, folder, events);
    await expect(third.download((await third.getFiles("local-pkg"))[0]!)).rejects.toMatchObject({
      code: "hash-mismatch",
    });
  });
});
