/**
 * The report's data: what `analyzeLayer` (index.ts) produces and `renderReportHtml`
 * (html.ts) draws. Re-exported by index.ts.
 */
import type { LayerManifest } from "../layer/index.js";
import type { SlimReason } from "../slim/index.js";

export interface ReportFile {
  /** Zip path. */
  path: string;
  size: number;
  compressedSize: number;
  /** The distribution the file belongs to (its display name), or `UNATTRIBUTED`. */
  package: string;
}

export interface PackageUsage {
  /** Name as its METADATA spells it. */
  name: string;
  version: string | undefined;
  /** Unzipped bytes. */
  size: number;
  compressedSize: number;
  files: number;
  /** Share of `LAMBDA_UNZIPPED_LIMIT`, in percent with one decimal (`percentOf`). */
  percentOfLimit: number;
  /** Zip path of the site folder its files are attributed from (for the treemap's paths). */
  siteDir: string | undefined;
}

export interface LayerReport {
  path: string;
  zipSize: number;
  unzippedSize: number;
  limit: number;
  percentOfLimit: number;
  fileCount: number;
  /** What pylayer recorded in the zip comment, when pylayer wrote it. */
  manifest: LayerManifest | undefined;
  /** Largest first. */
  packages: PackageUsage[];
  /** Largest first, at most `top`. */
  biggestFiles: ReportFile[];
  /** What `build --slim` (with the given patterns) would remove. */
  slim: {
    files: number;
    bytes: number;
    byReason: { reason: SlimReason; files: number; bytes: number }[];
    /** Test folders that stay because other files import them. */
    keptTestFolders: { path: string; importedBy: string }[];
  };
  /** Every file, for the treemap. */
  files: ReportFile[];
}
