/**
 * `.netrc` credentials (the format curl, requests and pip read): whitespace-separated
 * tokens `machine <host>`, `default`, `login <user>`, `password <secret>`, `account
 * <x>`, `macdef <name>` (its body runs to the next blank line and is skipped).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export interface NetrcCredentials {
  login: string;
  password: string;
}

export interface Netrc {
  machines: Map<string, NetrcCredentials>;
  default: NetrcCredentials | undefined;
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const lines = text.split(/\r?\n/);
  let inMacro = false;
  for (const line of lines) {
    if (inMacro) {
      if (line.trim() === "") inMacro = false;
      continue;
    }
    const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
    const lineTokens: string[] = [];
    for (const match of line.matchAll(pattern)) {
      if (match[1] !== undefined) lineTokens.push(match[1].replace(/\\(.)/g, "$1"));
      else if (match[2]!.startsWith("#") && lineTokens.length === 0) break;
      else lineTokens.push(match[2]!);
    }
    const macroAt = lineTokens.indexOf("macdef");
    if (macroAt >= 0) {
      tokens.push(...lineTokens.slice(0, macroAt));
      inMacro = true;
      continue;
    }
    tokens.push(...lineTokens);
  }
  return tokens;
}

export function parseNetrc(text: string): Netrc {
  const result: Netrc = { machines: new Map(), default: undefined };
  const tokens = tokenize(text);
  let current: { host: string | null; login: string; password: string } | null = null;
  const flush = () => {
    if (current === null) return;
    const credentials = { login: current.login, password: current.password };
    if (current.host === null) result.default ??= credentials;
    // The first entry for a host wins, as in Python's netrc module.
    else if (!result.machines.has(current.host.toLowerCase())) {
      result.machines.set(current.host.toLowerCase(), credentials);
    }
  };
  for (let position = 0; position < tokens.length; position++) {
    const token = tokens[position]!;
    if (token === "machine") {
      flush();
      current = { host: tokens[++position] ?? "", login: "", password: "" };
    } else if (token === "default") {
      flush();
      current = { host: null, login: "", password: "" };
    } else if (current !== null && (token === "login" || token === "user")) {
      current.login = tokens[++position] ?? "";
    } else if (current !== null && token === "password") {
      current.password = tokens[++position] ?? "";
    } else if (current !== null && token === "account") {
      position++;
    }
  }
  flush();
  return result;
}

/** The netrc file to read: `NETRC` when set, else `~/.netrc` (`~/_netrc` on Windows). */
export function defaultNetrcPath(
  env: NodeJS.ProcessEnv,
  homeDir: string,
  platform: NodeJS.Platform = process.platform,
): string {
  const explicit = env.NETRC;
  if (explicit !== undefined && explicit !== "") return explicit;
  return join(homeDir, platform === "win32" ? "_netrc" : ".netrc");
}

/** Reads and parses a netrc file; a missing or unreadable file is an empty netrc. */
export async function loadNetrc(path: string): Promise<Netrc> {
  try {
    return parseNetrc(await readFile(path, "utf8"));
  } catch {
    return { machines: new Map(), default: undefined };
  }
}

export function netrcLookup(netrc: Netrc, hostname: string): NetrcCredentials | undefined {
  return netrc.machines.get(hostname.toLowerCase()) ?? netrc.default;
}
