/**
 * Everything pylayer shows a person: messages on stderr, results on stdout, colours
 * (off with NO_COLOR, off when not a TTY) and a one-line progress display that only
 * appears on an interactive terminal and never in --json, --quiet or CI runs.
 */
import { redactCredentials } from "../errors.js";

export interface UiOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  stdout?: NodeJS.WriteStream | { write(text: string): unknown; isTTY?: boolean };
  stderr?: NodeJS.WriteStream | { write(text: string): unknown; isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
}

type Style = (text: string) => string;
const identity: Style = (text) => text;

function ansi(open: number, close: number): Style {
  return (text) => `\u001b[${open}m${text}\u001b[${close}m`;
}

export class Ui {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly colors: {
    bold: Style;
    dim: Style;
    red: Style;
    yellow: Style;
    green: Style;
    cyan: Style;
  };
  private readonly stdout: NonNullable<UiOptions["stdout"]>;
  private readonly stderr: NonNullable<UiOptions["stderr"]>;
  private readonly interactive: boolean;
  private progressText = "";
  private progressTimer: NodeJS.Timeout | undefined;
  private lastDraw = 0;

  constructor(options: UiOptions) {
    const env = options.env ?? process.env;
    this.json = options.json;
    this.quiet = options.quiet;
    this.verbose = options.verbose && !options.quiet;
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    const useColor =
      env.NO_COLOR === undefined || env.NO_COLOR === ""
        ? env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0"
          ? true
          : Boolean(this.stderr.isTTY) && env.TERM !== "dumb"
        : false;
    this.colors = useColor
      ? {
          bold: ansi(1, 22),
          dim: ansi(2, 22),
          red: ansi(31, 39),
          yellow: ansi(33, 39),
          green: ansi(32, 39),
          cyan: ansi(36, 39),
        }
      : {
          bold: identity,
          dim: identity,
          red: identity,
          yellow: identity,
          green: identity,
          cyan: identity,
        };
    this.interactive =
      Boolean(this.stderr.isTTY) &&
      !this.json &&
      !this.quiet &&
      (env.CI === undefined || env.CI === "" || env.CI === "false");
  }

  /** A result line for people (stdout); suppressed by --json and --quiet. */
  out(text: string): void {
    if (this.json || this.quiet) return;
    this.clearProgress();
    this.stdout.write(`${redactCredentials(text)}\n`);
  }

  /** The machine-readable result of --json. */
  outJson(value: unknown): void {
    this.stdout.write(`${redactCredentials(JSON.stringify(value, null, 2))}\n`);
  }

  info(text: string): void {
    if (this.quiet || this.json) return;
    this.clearProgress();
    this.stderr.write(`${redactCredentials(text)}\n`);
  }

  detail(text: string): void {
    if (this.verbose && !this.json) this.info(this.colors.dim(text));
  }

  warn(text: string): void {
    if (this.quiet) return;
    this.clearProgress();
    this.stderr.write(`${this.colors.yellow("warning:")} ${redactCredentials(text)}\n`);
  }

  error(message: string, hint?: string, code?: string): void {
    this.clearProgress();
    const codeText = code === undefined ? "" : this.colors.dim(` [${code}]`);
    const [first, ...rest] = redactCredentials(message).split("\n");
    const body = [`${first}${codeText}`, ...rest].join("\n");
    this.stderr.write(`${this.colors.red("error:")} ${body}\n`);
    if (hint !== undefined)
      this.stderr.write(`${this.colors.cyan("hint:")} ${redactCredentials(hint)}\n`);
  }

  /** Updates the progress line (TTY only, throttled). */
  progress(text: string): void {
    if (!this.interactive) return;
    this.progressText = text;
    const now = Date.now();
    if (now - this.lastDraw >= 80) {
      this.draw();
    } else if (this.progressTimer === undefined) {
      this.progressTimer = setTimeout(() => {
        this.progressTimer = undefined;
        this.draw();
      }, 80);
      this.progressTimer.unref();
    }
  }

  private draw(): void {
    if (this.progressText === "") return;
    this.lastDraw = Date.now();
    const columns = (this.stderr as NodeJS.WriteStream).columns ?? 80;
    // One column short of the width: a line that fills it wraps on some terminals.
    const text = fitToWidth(redactCredentials(this.progressText), Math.max(10, columns - 1));
    this.stderr.write(`\r\u001b[2K${this.colors.dim(text)}`);
  }

  clearProgress(): void {
    if (this.progressTimer !== undefined) {
      clearTimeout(this.progressTimer);
      this.progressTimer = undefined;
    }
    if (this.interactive && this.progressText !== "") {
      this.stderr.write("\r\u001b[2K");
    }
    this.progressText = "";
  }
}

/** A word that carries a number (`57%`, `3/12`, `12.5/80.0`, `MB`): kept whole by fitToWidth. */
const NUMBER_WORD = /^[\d.,/%]+$|^(?:B|KiB|MiB|GiB|MB|GB)$/;

/**
 * A progress line that fits `width` characters: the middle of the longest names (paths,
 * URLs, packages) gives way to "…" while the numbers stay whole, since they are what a
 * person watches; only when no name is left to shorten is the end cut.
 */
export function fitToWidth(text: string, width: number): string {
  if (text.length <= width) return text;
  const words = text.split(" ");
  let excess = text.length - width;
  const minimum = 9; // four characters either side of "…"
  while (excess > 0) {
    let longest = -1;
    for (const [position, word] of words.entries()) {
      if (NUMBER_WORD.test(word) || word.length <= minimum) continue;
      if (longest === -1 || word.length > (words[longest] ?? "").length) longest = position;
    }
    const word = words[longest];
    if (word === undefined) break;
    const kept = Math.max(minimum - 1, word.length - excess - 1);
    const head = Math.ceil(kept / 2);
    words[longest] = `${word.slice(0, head)}…${word.slice(word.length - (kept - head))}`;
    excess -= word.length - (kept + 1);
  }
  const fitted = words.join(" ");
  return fitted.length <= width ? fitted : fitted.slice(0, width);
}

export { formatBytes } from "../strings.js";

export function formatDuration(milliseconds: number): string {
  return milliseconds < 1000
    ? `${Math.round(milliseconds)} ms`
    : `${(milliseconds / 1000).toFixed(2)} s`;
}
