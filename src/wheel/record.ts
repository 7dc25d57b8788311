/**
 * RECORD files (PEP 376, "Recording installed projects" in the packaging specifications):
 * CSV rows of `path,hash,size` with `hash` as `algorithm=urlsafe-base64-without-padding`.
 * Rows follow Python's csv module: fields with a comma, quote or line break are quoted,
 * quotes doubled.
 */
import { createHash } from "node:crypto";
import { PylayerError } from "../errors.js";

export interface RecordRow {
  path: string;
  /** `sha256=…`, or "" for files recorded without a hash (RECORD itself). */
  hash: string;
  /** Size in bytes, or undefined when the row leaves it empty. */
  size: number | undefined;
}

/** Hash algorithms a RECORD may use: sha256 or stronger (md5 and sha1 are not permitted). */
const ACCEPTED_ALGORITHMS = /^(sha256|sha384|sha512|sha3_256|sha3_384|sha3_512|blake2b|blake2s)$/;

/** Parses a RECORD file. `source` names it in errors. */
export function parseRecord(text: string, source = "RECORD"): RecordRow[] {
  const rows: RecordRow[] = [];
  for (const fields of parseCsv(text, source)) {
    if (fields.length === 1 && fields[0] === "") continue;
    if (fields.length !== 3) {
      throw invalidRecord(source, `a row has ${fields.length} fields instead of 3`);
    }
    const [path, hash, size] = fields as [string, string, string];
    if (hash !== "") {
      const equals = hash.indexOf("=");
      const algorithm = equals > 0 ? hash.slice(0, equals) : "";
      if (
        !ACCEPTED_ALGORITHMS.test(algorithm) ||
        !/^[A-Za-z0-9_-]+$/.test(hash.slice(equals + 1))
      ) {
        throw invalidRecord(
          source,
          `the hash of ${path} is "${hash}"; sha256 or stronger is required`,
        );
      }
    }
    if (size !== "" && !/^\d+$/.test(size)) {
      throw invalidRecord(source, `the size of ${path} is "${size}"`);
    }
    rows.push({ path, hash, size: size === "" ? undefined : Number(size) });
  }
  return rows;
}

/** Formats rows as a RECORD file (LF line endings, one row per line). */
export function formatRecord(rows: readonly RecordRow[]): string {
  return rows
    .map((row) =>
      [row.path, row.hash, row.size === undefined ? "" : String(row.size)]
        .map(quoteField)
        .join(","),
    )
    .map((line) => `${line}\n`)
    .join("");
}

/** `sha256=<urlsafe base64 without padding>` of `data`, the RECORD hash form. */
export function recordHash(data: Buffer): string {
  return `sha256=${createHash("sha256").update(data).digest("base64url")}`;
}

function quoteField(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
}

function parseCsv(text: string, source: string): string[][] {
  // Without quotes, a row is its line split at commas (nearly every RECORD).
  if (!text.includes('"')) {
    const lines = text.split(/\r\n|\n|\r/);
    if (lines[lines.length - 1] === "") lines.pop();
    return lines.map((line) => line.split(","));
  }
  const rows: string[][] = [];
  let fields: string[] = [];
  let field = "";
  let index = 0;
  let quoted = false;
  while (index < text.length) {
    const character = text[index]!;
    if (quoted) {
      if (character === '"') {
        if (text[index + 1] === '"') {
          field += '"';
          index += 2;
          continue;
        }
        quoted = false;
      } else {
        field += character;
      }
      index++;
      continue;
    }
    if (character === '"' && field === "") {
      quoted = true;
    } else if (character === ",") {
      fields.push(field);
      field = "";
    } else if (character === "\n" || character === "\r") {
      fields.push(field);
      rows.push(fields);
      fields = [];
      field = "";
      if (character === "\r" && text[index + 1] === "\n") index++;
    } else {
      field += character;
    }
    index++;
  }
  if (quoted) throw invalidRecord(source, "a quoted field is not closed");
  if (field !== "" || fields.length > 0) {
    fields.push(field);
    rows.push(fields);
  }
  return rows;
}

function invalidRecord(source: string, reason: string): PylayerError {
  return new PylayerError("invalid-wheel", `${source} is malformed: ${reason}`, {
    hint: "The wheel's RECORD is broken; report it to the package's maintainers.",
  });
}
