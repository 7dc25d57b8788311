/**
 * Writes layer zips for the check and invoke tests with fflate (independent of pylayer's
 * own zip writer), with optional Unix modes and pylayer's manifest in the zip comment.
 */

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { type Zippable, zipSync } from "fflate";
import { encodeManifest, type LayerManifest } from "../../src/layer/index.js";

export type LayerContent = string | Uint8Array | { data: string | Uint8Array; mode: number };

const encoder = new TextEncoder();
const toBytes = (value: string | Uint8Array) =>
  typeof value === "string" ? encoder.encode(value) : value;

export function buildLayerZip(
  files: Record<string, LayerContent>,
  options: { manifest?: LayerManifest; comment?: string } = {},
): Buffer {
  const zippable: Zippable = {};
  for (const [path, content] of Object.entries(files)) {
    const { data, mode } =
      typeof content === "object" && !(content instanceof Uint8Array)
        ? content
        : { data: content, mode: undefined };
    zippable[path] = [
      toBytes(data),
      {
        mtime: new Date(2020, 0, 1),
        level: 6,
        ...(mode === undefined ? {} : { os: 3, attrs: ((0o100000 | mode) << 16) >>> 0 }),
      },
    ];
  }
  const bytes = Buffer.from(zipSync(zippable));
  const comment =
    options.comment ??
    (options.manifest === undefined ? undefined : encodeManifest(options.manifest));
  if (comment === undefined) return bytes;
  // The end of central directory record is the last 22 bytes; its last field is the comment length.
  const commentBytes = Buffer.from(comment, "utf8");
  bytes.writeUInt16LE(commentBytes.length, bytes.length - 2);
  return Buffer.concat([bytes, commentBytes]);
}

export async function writeLayerZip(
  path: string,
  files: Record<string, LayerContent>,
  options: { manifest?: LayerManifest; comment?: string } = {},
): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, buildLayerZip(files, options));
  return path;
}

export function manifestFor(
  runtime: string,
  architecture: "x86_64" | "arm64" = "x86_64",
): LayerManifest {
  return { runtimes: [runtime], architectures: [architecture], layout: "python", packages: [] };
}

/**
 * The files of an installed distribution under `siteDir`: its own files plus a dist-info
 * with METADATA and a RECORD listing everything (paths relative to `siteDir`, PEP 376).
 */
export function installedDistribution(
  name: string,
  version: string,
  files: Record<string, LayerContent>,
  options: {
    siteDir?: string;
    omitRecord?: boolean;
    omitMetadata?: boolean;
    topLevel?: string[];
    /** RECORD rows for files that are not written (to simulate deleted files). */
    extraRecordPaths?: string[];
  } = {},
): Record<string, LayerContent> {
  const siteDir = options.siteDir ?? "python";
  const distInfo = `${name.replace(/-/g, "_")}-${version}.dist-info`;
  const result: Record<string, LayerContent> = {};
  const rows: string[] = [];
  const add = (relative: string, content: LayerContent) => {
    result[`${siteDir}/${relative}`] = content;
    const data =
      typeof content === "object" && !(content instanceof Uint8Array) ? content.data : content;
    const bytes = toBytes(data);
    rows.push(
      `${relative},sha256=${createHash("sha256").update(bytes).digest("base64url")},${bytes.length}`,
    );
  };
  for (const [relative, content] of Object.entries(files)) add(relative, content);
  if (!options.omitMetadata) {
    add(`${distInfo}/METADATA`, `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n\n`);
  }
  if (options.topLevel !== undefined)
    add(`${distInfo}/top_level.txt`, `${options.topLevel.join("\n")}\n`);
  for (const path of options.extraRecordPaths ?? []) rows.push(`${path},,`);
  if (!options.omitRecord) {
    rows.push(`${distInfo}/RECORD,,`);
    result[`${siteDir}/${distInfo}/RECORD`] = `${rows.join("\n")}\n`;
  }
  return result;
}

/** Whether a command exists (e.g. `gcc`), for tests that need the machine's compiler. */
export function hasCommand(command: string): boolean {
  return spawnSync(command, ["--version"], { stdio: "ignore" }).status === 0;
}
