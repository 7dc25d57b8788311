/**
 * `entry_points.txt` (packaging specifications, "Entry points specification"): an INI file
 * whose `[console_scripts]` and `[gui_scripts]` groups name commands to generate. Each line
 * is `name = importable.module:object.attr [extras]`; extras are deprecated and ignored.
 */
import { PylayerError } from "../errors.js";

export interface ScriptEntryPoint {
  /** The command name (the file written to the layout's bin folder). */
  name: string;
  group: "console_scripts" | "gui_scripts";
  module: string;
  /** Dotted attribute path inside the module (`main` or `cli.main`). */
  attribute: string;
}

const DOTTED_NAME =
  /^[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*(\.[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*)*$/u;

/**
 * The console and GUI scripts of an `entry_points.txt`. Lines starting with `#` or `;` are
 * comments; other groups are ignored. `source` names the file in errors.
 */
export function parseScriptEntryPoints(
  text: string,
  source = "entry_points.txt",
): ScriptEntryPoint[] {
  const scripts: ScriptEntryPoint[] = [];
  let group: string | undefined;
  for (const rawLine of text.split(/\r\n|\n|\r/)) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    if (line.startsWith("[") && line.endsWith("]")) {
      group = line.slice(1, -1).trim();
      continue;
    }
    if (group !== "console_scripts" && group !== "gui_scripts") continue;
    const equals = line.indexOf("=");
    if (equals <= 0) throw invalidEntryPoint(source, line, "it is not `name = module:function`");
    const name = line.slice(0, equals).trim();
    const value = line
      .slice(equals + 1)
      .replace(/\[[^\]]*\]\s*$/, "")
      .trim();
    const colon = value.indexOf(":");
    const module = (colon < 0 ? value : value.slice(0, colon)).trim();
    const attribute = colon < 0 ? "" : value.slice(colon + 1).trim();
    if (!DOTTED_NAME.test(module) || !DOTTED_NAME.test(attribute)) {
      throw invalidEntryPoint(source, line, "a script needs `module:function` with Python names");
    }
    scripts.push({ name, group, module, attribute });
  }
  return scripts;
}

function invalidEntryPoint(source: string, line: string, reason: string): PylayerError {
  return new PylayerError(
    "invalid-wheel",
    `${source} has an invalid script entry "${line}": ${reason}`,
    {
      hint: "The wheel's entry points are broken; report it to the package's maintainers.",
    },
  );
}
