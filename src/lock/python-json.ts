/**
 * Python's `json.dumps(value, sort_keys=True)` for data read from TOML, byte for byte,
 * so that hashes other tools compute over their input files (Poetry's `content-hash`,
 * pipenv's Pipfile hash) can be recomputed here.
 *
 * Python's defaults: `ensure_ascii=True` (every character outside space…`~` escaped as
 * `\uXXXX`, astral characters as surrogate pairs), keys sorted by code point, floats in
 * `repr` form (`1.0`, `1e+16`), integers exact. TOML integers must therefore arrive as
 * `bigint` (see `parseTomlText(…, { exactIntegers: true })`) to be told apart from floats.
 */

export interface PythonJsonOptions {
  /** Python's `separators`; default `(", ", ": ")`. */
  itemSeparator?: string;
  keySeparator?: string;
}

export function pythonJsonDumps(value: unknown, options: PythonJsonOptions = {}): string {
  const item = options.itemSeparator ?? ", ";
  const key = options.keySeparator ?? ": ";
  const dump = (current: unknown): string => {
    if (current === null || current === undefined) return "null";
    if (typeof current === "boolean") return current ? "true" : "false";
    if (typeof current === "bigint") return current.toString();
    if (typeof current === "number") return pythonFloat(current);
    if (typeof current === "string") return pythonString(current);
    if (current instanceof Date) {
      throw new TypeError("Python's json.dumps cannot serialize dates");
    }
    if (Array.isArray(current)) return `[${current.map(dump).join(item)}]`;
    if (typeof current === "object") {
      const entries = Object.entries(current as Record<string, unknown>).sort(([a], [b]) =>
        compareCodePoints(a, b),
      );
      return `{${entries.map(([name, inner]) => `${pythonString(name)}${key}${dump(inner)}`).join(item)}}`;
    }
    throw new TypeError(`cannot serialize ${typeof current}`);
  };
  return dump(value);
}

function compareCodePoints(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  for (let index = 0; index < Math.min(left.length, right.length); index++) {
    const difference = left[index]!.codePointAt(0)! - right[index]!.codePointAt(0)!;
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

function pythonString(text: string): string {
  let result = '"';
  for (let index = 0; index < text.length; index++) {
    const character = text[index]!;
    const short = SHORT_ESCAPES[character];
    if (short !== undefined) {
      result += short;
      continue;
    }
    const code = text.charCodeAt(index);
    // UTF-16 code units are exactly what Python writes for ensure_ascii (surrogate pairs included).
    result += code >= 0x20 && code <= 0x7e ? character : `\\u${code.toString(16).padStart(4, "0")}`;
  }
  return `${result}"`;
}

/** Python's float repr: shortest round-trip digits, `.0` on integral values, exponent from 1e16. */
function pythonFloat(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "Infinity";
  if (value === Number.NEGATIVE_INFINITY) return "-Infinity";
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e16 || magnitude < 1e-4)) {
    const [mantissa, exponent] = value.toExponential().split("e");
    const exponentNumber = Number(exponent);
    const sign = exponentNumber < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(exponentNumber)).padStart(2, "0")}`;
  }
  const text = String(value);
  return Number.isInteger(value) ? `${text}.0` : text;
}
