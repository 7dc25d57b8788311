/**
 * Bounds on what the index client reads. Sizes are of the decoded bytes (after gzip,
 * deflate or br), counted as they arrive: a response is stopped at the first byte past its
 * limit, so a small compressed page that inflates to gigabytes costs no more memory than
 * the limit. Nothing that went past a limit is cached.
 */
import { PylayerError } from "../errors.js";
import { formatBytes } from "../strings.js";

export interface ResponseLimits {
  /**
   * One index page (PEP 503 HTML or PEP 691 JSON, over HTTP or from a `file://` index),
   * and one HTTP Range read of a wheel's zip directory while looking for METADATA.
   */
  pageBytes: number;
  /** One METADATA: a PEP 658 `.metadata` file, or the METADATA entry of a wheel. */
  metadataBytes: number;
  /**
   * One distribution file (wheel or sdist) downloaded. A size the index announces (PEP 700)
   * is enforced on top, as bytes arrive; this bound also holds when it announces none.
   */
  fileBytes: number;
}

const MIB = 1024 * 1024;

/**
 * PyPI's largest simple pages are a few MiB (PEP 691 JSON of projects with thousands of
 * files), METADATA rarely exceeds a few hundred KiB (long descriptions), and a wheel that
 * Lambda can use is under 250 MB unzipped: the defaults are far above real use and far
 * below what exhausts memory or disk.
 */
export const DEFAULT_RESPONSE_LIMITS: Readonly<ResponseLimits> = {
  pageBytes: 64 * MIB,
  metadataBytes: 8 * MIB,
  fileBytes: 4096 * MIB,
};

/** The environment variable that raises (or lowers) each limit, in bytes. */
export const RESPONSE_LIMIT_VARIABLES: Readonly<Record<keyof ResponseLimits, string>> = {
  pageBytes: "PYLAYER_MAX_PAGE_BYTES",
  metadataBytes: "PYLAYER_MAX_METADATA_BYTES",
  fileBytes: "PYLAYER_MAX_FILE_BYTES",
};

/** The defaults, with every limit its environment variable sets replaced. */
export function responseLimitsFromEnv(env: NodeJS.ProcessEnv): ResponseLimits {
  const limits = { ...DEFAULT_RESPONSE_LIMITS };
  for (const [key, variable] of Object.entries(RESPONSE_LIMIT_VARIABLES) as [
    keyof ResponseLimits,
    string,
  ][]) {
    const text = env[variable];
    if (text === undefined || text.trim() === "") continue;
    const value = Number(text.trim());
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value <= 0) {
      throw new PylayerError(
        "invalid-config",
        `${variable}="${text}" is not a positive whole number of bytes.`,
        { hint: `Set it to a number of bytes, e.g. ${variable}=${limits[key] * 2}, or unset it.` },
      );
    }
    limits[key] = value;
  }
  return limits;
}

/** Which limit a response is under; `range`: the length a Range request asked for. */
export type LimitedKind = keyof ResponseLimits | "range";

const KIND_NAMES: Record<keyof ResponseLimits, string> = {
  pageBytes: "index page",
  metadataBytes: "METADATA",
  fileBytes: "file",
};

/** A response that outgrew its limit (`label`: the redacted URL, or a file name). */
export function responseTooLarge(label: string, kind: LimitedKind, limit: number): PylayerError {
  if (kind === "range") {
    return new PylayerError(
      "response-too-large",
      `${label} answered a Range request for ${formatBytes(limit)} with more bytes; pylayer stopped reading it.`,
      {
        hint: "The server does not follow HTTP Range semantics; report it to the index's owner.",
        details: { url: label, limitBytes: limit },
      },
    );
  }
  const variable = RESPONSE_LIMIT_VARIABLES[kind];
  return new PylayerError(
    "response-too-large",
    `${label} is larger than the ${formatBytes(limit)} allowed for one ${KIND_NAMES[kind]} (decoded); pylayer stopped reading it.`,
    {
      hint: `A server that sends this much is broken or hostile; check the index URL. If the ${KIND_NAMES[kind]} is genuine, raise the limit with ${variable}=BYTES.`,
      details: { url: label, limitBytes: limit, setting: variable },
    },
  );
}
