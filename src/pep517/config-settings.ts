/**
 * `--config-settings KEY=VALUE` (pip's spelling of PEP 517's `config_settings`), given on
 * the command line for every build or after a requirement in a requirements file for that
 * requirement's build.
 */

/**
 * Adds one `KEY=VALUE` to `settings`; a repeated key collects its values in a list (pip's
 * rule). Returns false, changing nothing, when `text` is not `KEY=VALUE`.
 */
export function addConfigSetting(
  settings: Record<string, string | string[]>,
  text: string,
): boolean {
  const equals = text.indexOf("=");
  if (equals <= 0) return false;
  const key = text.slice(0, equals);
  const value = text.slice(equals + 1);
  const previous = settings[key];
  settings[key] =
    previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  return true;
}
