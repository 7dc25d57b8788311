/**
 * What publish needs to know about a layer zip without extracting it: its size, its
 * CodeSha256, its unzipped size (the sum of the central directory's uncompressed sizes,
 * which is what Lambda's 250 MiB limit counts) and the manifest pylayer's build left in
 * the zip comment.
 */
import { hashFile } from "../files.js";
import { decodeManifest, type LayerManifest } from "../layer/index.js";
import { ZipReader } from "../zip/index.js";

export interface LayerZipInfo {
  path: string;
  /** Bytes of the zip file. */
  size: number;
  /** Hex SHA-256 of the zip. */
  sha256: string;
  /** Base64 of the raw SHA-256: Lambda's `CodeSha256`. */
  codeSha256: string;
  /** Sum of the entries' uncompressed sizes. */
  unzippedSize: number;
  entryCount: number;
  /** What the build recorded; undefined for zips made by other tools. */
  manifest: LayerManifest | undefined;
}

export async function inspectLayerZip(path: string): Promise<LayerZipInfo> {
  const reader = await ZipReader.open(path);
  try {
    const unzippedSize = reader.entries.reduce((total, entry) => total + entry.uncompressedSize, 0);
    const { digest } = await hashFile(path);
    return {
      path,
      size: reader.size,
      sha256: digest.toString("hex"),
      codeSha256: digest.toString("base64"),
      unzippedSize,
      entryCount: reader.entries.length,
      manifest: decodeManifest(reader.comment),
    };
  } finally {
    await reader.close();
  }
}
