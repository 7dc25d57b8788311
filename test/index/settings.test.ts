import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseNetrc } from "../../src/index/netrc.js";
import {
  type IndexFlags,
  PYPI_SIMPLE_URL,
  parseIniFile,
  pipConfigFilePaths,
  resolveIndexSettings,
} from "../../src/index/settings.js";

let root: string;
let home: string;
let xdg: string;

/** Reads only files under the test's temporary root: the machine's own pip.conf stays out. */
const hermeticReadFile = async (path: string) => {
  if (!path.startsWith(root)) {
    throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
  }
  return readFile(path, "utf8");
};

async function write(path: string, text: string) {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "pylayer-settings-"));
  home = join(root, "home");
  xdg = join(root, "etc-xdg");
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const baseEnv = () => ({ XDG_CONFIG_DIRS: xdg, HOME: home });

async function resolve(flags: Partial<IndexFlags>, env: NodeJS.ProcessEnv) {
  return resolveIndexSettings({
    flags,
    env: { ...baseEnv(), ...env },
    homeDir: home,
    cwd: join(root, "project"),
    platform: "linux",
    readFile: hermeticReadFile,
  });
}

describe("resolveIndexSettings precedence", () => {
  beforeEach(async () => {
    await write(
      join(xdg, "pip", "pip.conf"),
      "[global]\nindex-url = https://conf.example/simple\nextra-index-url = file:///srv/a/simple file:///srv/b/simple\nfind-links=/srv/wheels\n",
    );
  });

  type Row = [
    string,
    Partial<IndexFlags>,
    NodeJS.ProcessEnv,
    Record<string, unknown>,
    Record<string, string | RegExp>,
  ];
  const rows: Row[] = [
    [
      "pip.conf alone (the machine's own form: file:// extras, bare find-links path)",
      {},
      {},
      {
        indexUrl: "https://conf.example/simple/",
        extraIndexUrls: ["file:///srv/a/simple/", "file:///srv/b/simple/"],
        findLinks: ["file:///srv/wheels"],
        noIndex: false,
      },
      { indexUrl: /pip\.conf \[global\]$/, noIndex: "default" },
    ],
    [
      // uv's rule: indexes from the command line or environment before configuration files'.
      "uv environment beats pip.conf (pip.conf's extra indexes asked after)",
      {},
      {
        UV_INDEX_URL: "https://uv-old.example/simple",
        UV_DEFAULT_INDEX: "https://uv.example/simple",
        UV_INDEX: "internal=https://i.example/simple https://j.example/simple",
        UV_EXTRA_INDEX_URL: "https://k.example/simple",
        UV_FIND_LINKS: "/w1, /w2",
        UV_NO_INDEX: "1",
      },
      {
        indexUrl: "https://uv.example/simple/",
        extraIndexUrls: [
          "https://i.example/simple/",
          "https://j.example/simple/",
          "https://k.example/simple/",
          "file:///srv/a/simple/",
          "file:///srv/b/simple/",
        ],
        findLinks: ["file:///w1", "file:///w2"],
        noIndex: true,
      },
      {
        indexUrl: "env UV_DEFAULT_INDEX",
        extraIndexUrls: /^env UV_INDEX, env UV_EXTRA_INDEX_URL, .*pip\.conf \[global\]$/,
        findLinks: "env UV_FIND_LINKS",
        noIndex: "env UV_NO_INDEX",
      },
    ],
    [
      "UV_INDEX_URL when UV_DEFAULT_INDEX is absent",
      {},
      { UV_INDEX_URL: "https://uv-old.example/simple/" },
      { indexUrl: "https://uv-old.example/simple/" },
      { indexUrl: "env UV_INDEX_URL" },
    ],
    [
      "pip environment beats uv environment and pip.conf (pip.conf's extra indexes asked after)",
      {},
      {
        PIP_INDEX_URL: "https://pip.example/simple/",
        PIP_EXTRA_INDEX_URL: "https://x.example/simple/\n https://y.example/simple/",
        PIP_FIND_LINKS: "/a /b",
        PIP_NO_INDEX: "off",
        UV_DEFAULT_INDEX: "https://uv.example/simple",
        UV_NO_INDEX: "true",
      },
      {
        indexUrl: "https://pip.example/simple/",
        extraIndexUrls: [
          "https://x.example/simple/",
          "https://y.example/simple/",
          "file:///srv/a/simple/",
          "file:///srv/b/simple/",
        ],
        findLinks: ["file:///a", "file:///b"],
        noIndex: false,
      },
      { indexUrl: "env PIP_INDEX_URL", noIndex: "env PIP_NO_INDEX" },
    ],
    [
      "flags beat everything, per setting (configuration files' extra indexes asked after)",
      { indexUrl: "https://flag.example/simple", findLinks: ["./wheels"] },
      {
        PIP_INDEX_URL: "https://pip.example/simple/",
        PIP_EXTRA_INDEX_URL: "https://x.example/simple/",
      },
      {
        indexUrl: "https://flag.example/simple/",
        extraIndexUrls: [
          "https://x.example/simple/",
          "file:///srv/a/simple/",
          "file:///srv/b/simple/",
        ],
        indexes: [
          { url: "https://x.example/simple/", kind: "extra", level: "command-line" },
          { url: "https://flag.example/simple/", kind: "default", level: "command-line" },
          { url: "file:///srv/a/simple/", kind: "extra", level: "configuration" },
          { url: "file:///srv/b/simple/", kind: "extra", level: "configuration" },
        ],
        noIndex: false,
      },
      {
        indexUrl: "flag",
        findLinks: "flag",
        extraIndexUrls: /^env PIP_EXTRA_INDEX_URL, .*pip\.conf \[global\]$/,
      },
    ],
    [
      "empty environment variables count as unset",
      {},
      { PIP_INDEX_URL: "", UV_DEFAULT_INDEX: "  " },
      { indexUrl: "https://conf.example/simple/" },
      {},
    ],
  ];

  it.each(rows)("%s", async (_name, flags, env, expected, origin) => {
    const settings = await resolve(flags, env);
    expect(settings).toMatchObject(expected);
    for (const [key, value] of Object.entries(origin)) {
      if (typeof value === "string") expect(settings.origin[key]).toBe(value);
      else expect(settings.origin[key]).toMatch(value);
    }
  });

  it("resolves relative find-links against cwd", async () => {
    const settings = await resolve({ findLinks: ["./wheels", "../shared"] }, {});
    expect(settings.findLinks).toEqual([
      pathToFileURL(join(root, "project", "wheels")).href,
      pathToFileURL(join(root, "shared")).href,
    ]);
  });

  it("defaults to PyPI with no configuration at all", async () => {
    const settings = await resolveIndexSettings({
      env: { PIP_CONFIG_FILE: "/dev/null" },
      homeDir: home,
      platform: "linux",
      readFile: hermeticReadFile,
    });
    expect(settings).toMatchObject({
      indexUrl: PYPI_SIMPLE_URL,
      extraIndexUrls: [],
      findLinks: [],
      noIndex: false,
      origin: { indexUrl: "default" },
    });
  });

  it("rejects a non-boolean PIP_NO_INDEX", async () => {
    await expect(resolve({}, { PIP_NO_INDEX: "maybe" })).rejects.toMatchObject({
      code: "invalid-config",
    });
  });
});

describe("pip configuration files", () => {
  it("loads in pip's order: PIP_CONFIG_FILE, global (XDG dirs, /etc), user (legacy, XDG), site", () => {
    expect(
      pipConfigFilePaths({
        env: { PIP_CONFIG_FILE: "/custom.conf", XDG_CONFIG_DIRS: "/a:/b", VIRTUAL_ENV: "/venv" },
        homeDir: "/home/u",
        platform: "linux",
      }),
    ).toEqual([
      "/custom.conf",
      "/a/pip/pip.conf",
      "/b/pip/pip.conf",
      "/etc/pip.conf",
      "/home/u/.pip/pip.conf",
      "/home/u/.config/pip/pip.conf",
      "/venv/pip.conf",
    ]);
  });

  it("uses /etc/xdg and XDG_CONFIG_HOME defaults", () => {
    expect(
      pipConfigFilePaths({
        env: { XDG_CONFIG_HOME: "/cfg" },
        homeDir: "/home/u",
        platform: "linux",
      }),
    ).toEqual([
      "/etc/xdg/pip/pip.conf",
      "/etc/pip.conf",
      "/home/u/.pip/pip.conf",
      "/cfg/pip/pip.conf",
    ]);
  });

  it("PIP_CONFIG_FILE=os.devnull disables every file", () => {
    expect(
      pipConfigFilePaths({
        env: { PIP_CONFIG_FILE: "/dev/null" },
        homeDir: "/h",
        platform: "linux",
      }),
    ).toEqual([]);
    expect(
      pipConfigFilePaths({ env: { PIP_CONFIG_FILE: "nul" }, homeDir: "C:\\h", platform: "win32" }),
    ).toEqual([]);
  });

  it("later files override earlier ones, [install] overrides [global]", async () => {
    await write(
      join(root, "custom.conf"),
      "[global]\nindex-url = https://custom.example/simple\nno-index = yes\n",
    );
    await write(
      join(xdg, "pip", "pip.conf"),
      "[global]\nindex-url = https://global.example/simple\n",
    );
    await write(
      join(home, ".pip", "pip.conf"),
      "[global]\nindex-url = https://legacy.example/simple\nfind-links = /legacy\n",
    );
    await write(
      join(home, ".config", "pip", "pip.conf"),
      "[global]\nindex_url = https://user.example/simple\n[install]\nextra-index-url =\n    https://e1.example/simple\n    https://e2.example/simple\n",
    );
    await write(
      join(root, "venv", "pip.conf"),
      "[install]\nindex-url = https://site.example/simple\n",
    );
    const settings = await resolve(
      {},
      { PIP_CONFIG_FILE: join(root, "custom.conf"), VIRTUAL_ENV: join(root, "venv") },
    );
    expect(settings).toMatchObject({
      indexUrl: "https://site.example/simple/",
      extraIndexUrls: ["https://e1.example/simple/", "https://e2.example/simple/"],
      findLinks: ["file:///legacy"],
      noIndex: true,
    });
    expect(settings.origin.indexUrl).toBe(`${join(root, "venv", "pip.conf")} [install]`);
    expect(settings.origin.noIndex).toBe(`${join(root, "custom.conf")} [global]`);
  });

  it("parses INI like configparser", () => {
    const sections = parseIniFile(
      "; comment\n[Global]\nKey_One = a\n  continued\n# another\nkey-two: b\n\n[install]\nx=1\n",
    );
    expect(sections.get("global")?.get("key-one")).toBe("a\ncontinued");
    expect(sections.get("global")?.get("key-two")).toBe("b");
    expect(sections.get("install")?.get("x")).toBe("1");
  });
});

describe("timeout and retries (pip's --timeout/--retries)", () => {
  const conf = () => write(join(xdg, "pip", "pip.conf"), "[global]\ntimeout = 45\nretries = 7\n");

  // Each setting from the first source that sets it: flag, PIP_*, UV_HTTP_*, pip.conf, default.
  const rows: [string, Partial<IndexFlags>, NodeJS.ProcessEnv, boolean, number, number, string][] =
    [
      ["uv's defaults", {}, {}, false, 30, 3, "default"],
      ["pip.conf", {}, {}, true, 45, 7, `${"XDG"} [global]`],
      [
        "UV_HTTP_* over pip.conf",
        {},
        { UV_HTTP_TIMEOUT: "20", UV_HTTP_RETRIES: "0" },
        true,
        20,
        0,
        "env UV_HTTP_TIMEOUT",
      ],
      [
        "PIP_* over UV_HTTP_*",
        {},
        { PIP_TIMEOUT: "2.5", UV_HTTP_TIMEOUT: "20", PIP_RETRIES: "1", UV_HTTP_RETRIES: "0" },
        true,
        2.5,
        1,
        "env PIP_TIMEOUT",
      ],
      [
        "flags over everything",
        { timeoutSeconds: 9, retries: 4 },
        { PIP_TIMEOUT: "2" },
        true,
        9,
        4,
        "flag",
      ],
    ];
  it.each(rows)("%s", async (_name, flags, env, withConf, timeout, retries, origin) => {
    if (withConf) await conf();
    const settings = await resolve(flags, env);
    expect(settings.timeoutSeconds).toBe(timeout);
    expect(settings.retries).toBe(retries);
    expect(settings.origin.timeoutSeconds).toBe(
      origin === "XDG [global]" ? `${join(xdg, "pip", "pip.conf")} [global]` : origin,
    );
  });

  it.each([
    [{ PIP_TIMEOUT: "0" }, 'PIP_TIMEOUT has "0"'],
    [{ UV_HTTP_TIMEOUT: "-5" }, 'UV_HTTP_TIMEOUT has "-5"'],
    [{ PIP_RETRIES: "two" }, 'PIP_RETRIES has "two"'],
    [{ UV_HTTP_RETRIES: "1.5" }, 'UV_HTTP_RETRIES has "1.5"'],
  ])("refuses %o (invalid-config)", async (env, message) => {
    const error = await resolve({}, env).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: "invalid-config",
      message: expect.stringContaining(message),
    });
  });
});

describe("uv's project configuration: cwd or the nearest folder above it (as uv finds it)", () => {
  /** [case, files under root/project (path → text), the index-url read, its origin]; cwd is project/service/src. */
  const cases: [string, Record<string, string>, string | undefined, string | undefined][] = [
    [
      "uv.toml in cwd",
      { "service/src/uv.toml": 'index-url = "https://here.example/simple"\n' },
      "https://here.example/simple/",
      "service/src/uv.toml",
    ],
    [
      "uv.toml two folders up",
      { "uv.toml": 'index-url = "https://root.example/simple"\n' },
      "https://root.example/simple/",
      "uv.toml",
    ],
    [
      "a pyproject.toml without [tool.uv] does not stop the search",
      {
        "service/pyproject.toml": '[project]\nname = "service"\n',
        "pyproject.toml": '[tool.uv]\nindex-url = "https://workspace.example/simple"\n',
      },
      "https://workspace.example/simple/",
      "pyproject.toml [tool.uv]",
    ],
    [
      "the nearest project wins over one further up",
      {
        "service/pyproject.toml": '[tool.uv]\nindex-url = "https://service.example/simple"\n',
        "uv.toml": 'index-url = "https://root.example/simple"\n',
      },
      "https://service.example/simple/",
      "service/pyproject.toml [tool.uv]",
    ],
    [
      "in one folder uv.toml wins over [tool.uv]",
      {
        "service/pyproject.toml": '[tool.uv]\nindex-url = "https://tool.example/simple"\n',
        "service/uv.toml": 'index-url = "https://file.example/simple"\n',
      },
      "https://file.example/simple/",
      "service/uv.toml",
    ],
    [
      "a pyproject.toml that does not parse is passed over, as uv does",
      {
        "service/pyproject.toml": "[project\n",
        "uv.toml": 'index-url = "https://root.example/simple"\n',
      },
      "https://root.example/simple/",
      "uv.toml",
    ],
    ["none: PyPI", {}, undefined, undefined],
  ];

  it.each(cases)("%s", async (_name, files, indexUrl, origin) => {
    const project = join(root, "project");
    for (const [path, text] of Object.entries(files)) await write(join(project, path), text);
    const settings = await resolveIndexSettings({
      flags: {},
      env: baseEnv(),
      homeDir: home,
      cwd: join(project, "service", "src"),
      platform: "linux",
      readFile: hermeticReadFile,
    });
    expect(settings.indexUrl).toBe(indexUrl ?? PYPI_SIMPLE_URL);
    expect(settings.origin.indexUrl).toBe(origin === undefined ? "default" : join(project, origin));
  });

  it("reads the user's uv.toml ($XDG_CONFIG_HOME/uv/uv.toml) after the project's", async () => {
    const project = join(root, "project");
    await write(join(project, "uv.toml"), 'extra-index-url = ["https://project.example/simple"]\n');
    await write(
      join(root, "config", "uv", "uv.toml"),
      'index-url = "https://user.example/simple"\nextra-index-url = ["https://user-extra.example/simple"]\n',
    );
    const settings = await resolveIndexSettings({
      flags: {},
      env: { ...baseEnv(), XDG_CONFIG_HOME: join(root, "config") },
      homeDir: home,
      cwd: join(project, "service"),
      platform: "linux",
      readFile: hermeticReadFile,
    });
    // Each setting from the first file that sets it: the project's extra index, the user's index URL.
    expect(settings.extraIndexUrls).toEqual(["https://project.example/simple/"]);
    expect(settings.indexUrl).toBe("https://user.example/simple/");
    expect(settings.origin.indexUrl).toBe(join(root, "config", "uv", "uv.toml"));
  });

  it("UV_NO_CONFIG=1 turns the search off", async () => {
    await write(join(root, "project", "uv.toml"), 'index-url = "https://root.example/simple"\n');
    const settings = await resolve({}, { UV_NO_CONFIG: "1" });
    expect(settings.indexUrl).toBe(PYPI_SIMPLE_URL);
  });
});

describe("parseNetrc", () => {
  it("reads machine, default, macdef and quoted tokens", () => {
    const netrc = parseNetrc(
      [
        "# comment",
        "machine index.example.com login alice password s3cret",
        "macdef init",
        "machine ignored login x password y",
        "",
        'machine Other.Example login "bob smith" password "p w"',
        "default login anon password anonpw",
      ].join("\n"),
    );
    expect(netrc.machines.get("index.example.com")).toEqual({ login: "alice", password: "s3cret" });
    expect(netrc.machines.has("ignored")).toBe(false);
    expect(netrc.machines.get("other.example")).toEqual({ login: "bob smith", password: "p w" });
    expect(netrc.default).toEqual({ login: "anon", password: "anonpw" });
  });

  it("reads entries spread over lines, first entry per host wins", () => {
    const netrc = parseNetrc("machine h\n  login a\n  password b\nmachine h login c password d\n");
    expect(netrc.machines.get("h")).toEqual({ login: "a", password: "b" });
  });
});
