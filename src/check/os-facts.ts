/**
 * What the operating system under each Lambda Python runtime provides to native code, as
 * data with its sources. pylayer compares every ELF file of a layer against these facts.
 *
 * Where a fact is not certain it is marked "unverified" and reported as such, never as a
 * guess either way.
 */
import type { Architecture, LambdaRuntime } from "../runtime/index.js";

export type VersionTriple = readonly number[];

export interface OsFacts {
  os: LambdaRuntime["os"];
  /**
   * The glibc release. Sources: AWS, "Amazon Linux 2023 User Guide", page "Improved
   * toolchain: gcc, binutils, and glibc" (glibc 2.26 on AL2, 2.34 on AL2023:
   * https://docs.aws.amazon.com/linux/al2023/ug/glibc-gcc-and-binutils.html) and "Core
   * toolchain packages" (https://docs.aws.amazon.com/linux/al2023/ug/core-glibc.html).
   */
  glibc: VersionTriple;
  /** The GCC release whose libstdc++.so.6 and libgcc_s.so.1 the OS ships. */
  gcc: string;
  /**
   * Highest GLIBCXX_ and CXXABI_ symbol versions that libstdc++ certainly defines. Source:
   * the libstdc++ manual, "ABI Policy and Guidelines", symbol versions per GCC release
   * (https://gcc.gnu.org/onlinedocs/libstdc++/manual/abi.html): GCC 7.2.0 → GLIBCXX_3.4.24,
   * CXXABI_1.3.11 (unchanged in 7.3); GCC 11.1.0 → GLIBCXX_3.4.29, CXXABI_1.3.13.
   */
  glibcxx: VersionTriple;
  cxxabi: VersionTriple;
  /**
   * Newer symbol versions that a later libstdc++ package of the OS would define, but whose
   * presence in the Lambda runtime is not confirmed: needing them is a warning, not an error.
   */
  unverifiedLibstdcxx?: { glibcxx: VersionTriple; cxxabi: VersionTriple; reason: string };
}

const AMAZON_LINUX_2: OsFacts = {
  os: "Amazon Linux 2",
  glibc: [2, 26],
  // AL2's gcc is 7.3 (AWS page above); its libstdc++ package is 7.3.1 (libstdc++-7.3.1-18.amzn2
  // in the Amazon Linux 2 container image, docker-library/official-images pull request 20651).
  gcc: "7.3.1",
  glibcxx: [3, 4, 24],
  cxxabi: [1, 3, 11],
};

const AMAZON_LINUX_2023: OsFacts = {
  os: "Amazon Linux 2023",
  glibc: [2, 34],
  // AL2023's system compiler is GCC 11 (11.2 at launch, 11.3/11.4 later; AWS pages above).
  gcc: "11",
  glibcxx: [3, 4, 29],
  cxxabi: [1, 3, 13],
  unverifiedLibstdcxx: {
    // The AL2023 container image moved its libstdc++ package to GCC 14.2.1 in release
    // 2023.7.20250331 (docker-library/official-images pull request 18759); GCC 14.1.0 defines
    // GLIBCXX_3.4.33 and CXXABI_1.3.15 (libstdc++ ABI policy page). Whether the Lambda
    // runtime image carries that package is not confirmed.
    glibcxx: [3, 4, 33],
    cxxabi: [1, 3, 15],
    reason:
      "Amazon Linux 2023 images updated since March 2025 ship libstdc++ from GCC 14, but pylayer cannot confirm the Lambda runtime has it",
  },
};

export function osFacts(runtime: LambdaRuntime): OsFacts {
  return runtime.os === "Amazon Linux 2" ? AMAZON_LINUX_2 : AMAZON_LINUX_2023;
}

/** How sure pylayer is that a library is in a runtime's base image. */
export type Presence = "present" | "absent" | "unverified";

export interface BaseLibrary {
  /** The DT_NEEDED / SONAME it is asked for by. */
  name: string;
  onAmazonLinux2: Presence;
  onAmazonLinux2023: Presence;
  /** Only on these architectures (the dynamic loader's name differs). */
  architectures?: readonly Architecture[];
  /** Why pylayer believes what it does. */
  source: string;
}

const GLIBC_SOURCE =
  "part of the glibc package, which every Lambda runtime has (the runtime's own Python links against it)";
const MANYLINUX_SOURCE =
  "libstdc++ and libgcc_s are system libraries under the manylinux policies (PEP 599, PEP 600), so auditwheel never bundles them, and wheels relying on them (pandas, pyarrow) run on every Lambda Python runtime; both images carry the libstdc++/libgcc packages (docker-library/official-images pull requests 20651 and 18759)";
const NOT_CONFIRMED =
  "not confirmed either way for the Lambda runtime image; the Lambda images hold far fewer libraries than Amazon Linux itself";
const GLIB_ABSENT_ON_AL2 =
  "missing on the Amazon Linux 2 runtimes: `libgthread-2.0.so.0: cannot open shared object file` (keithrozario/Klayers issues 115 and 156, python3.8); libglib and libgobject come from the same glib2 package";
const GLIB_ON_AL2023 =
  "glib2 is in `rpm -qa` of public.ecr.aws/lambda/python:3.12 (amazonlinux/amazon-linux-2023 issue 585, December 2023), not confirmed for the managed runtime";
const LIBGL_ABSENT_ON_AL2 =
  "missing on the Amazon Linux 2 runtimes: `libGL.so.1: cannot open shared object file` (lambci/docker-lambda issue 318, iandow/opencv_aws_lambda issue 6)";

function glibcLibrary(name: string, architectures?: readonly Architecture[]): BaseLibrary {
  return {
    name,
    onAmazonLinux2: "present",
    onAmazonLinux2023: "present",
    ...(architectures === undefined ? {} : { architectures }),
    source: GLIBC_SOURCE,
  };
}

function unverifiedLibrary(name: string, source = NOT_CONFIRMED): BaseLibrary {
  return { name, onAmazonLinux2: "unverified", onAmazonLinux2023: "unverified", source };
}

/**
 * Libraries a layer's ELF files may need without shipping them. Anything not listed here
 * and not in the layer is reported missing: the Lambda images are small, and wheels built
 * by auditwheel bundle everything outside the manylinux policy's system libraries.
 */
export const BASE_LIBRARIES: readonly BaseLibrary[] = [
  glibcLibrary("libc.so.6"),
  glibcLibrary("libm.so.6"),
  glibcLibrary("libpthread.so.0"),
  glibcLibrary("libdl.so.2"),
  glibcLibrary("librt.so.1"),
  glibcLibrary("libutil.so.1"),
  glibcLibrary("libresolv.so.2"),
  glibcLibrary("libanl.so.1"),
  glibcLibrary("libBrokenLocale.so.1"),
  glibcLibrary("libthread_db.so.1"),
  glibcLibrary("libnss_files.so.2"),
  glibcLibrary("libnss_dns.so.2"),
  glibcLibrary("ld-linux-x86-64.so.2", ["x86_64"]),
  glibcLibrary("ld-linux-aarch64.so.1", ["arm64"]),
  // glibc builds libmvec on x86_64 since 2.22; on aarch64 only in later releases.
  glibcLibrary("libmvec.so.1", ["x86_64"]),
  {
    name: "libstdc++.so.6",
    onAmazonLinux2: "present",
    onAmazonLinux2023: "present",
    source: MANYLINUX_SOURCE,
  },
  {
    name: "libgcc_s.so.1",
    onAmazonLinux2: "present",
    onAmazonLinux2023: "present",
    source: MANYLINUX_SOURCE,
  },
  // In the manylinux policies' list, but the Lambda images are not a full desktop system.
  unverifiedLibrary(
    "libnsl.so.1",
    "in the manylinux policy list, but glibc 2.26+ builds may leave it to a separate libnsl package; not confirmed for Lambda",
  ),
  unverifiedLibrary(
    "libcrypt.so.1",
    "a separate package on both systems (glibc's libcrypt on AL2, libxcrypt-compat on AL2023); not confirmed for Lambda",
  ),
  unverifiedLibrary("libcrypt.so.2"),
  unverifiedLibrary("libgomp.so.1"),
  {
    name: "libz.so.1",
    onAmazonLinux2: "present",
    onAmazonLinux2023: "present",
    source:
      "zlib is a dependency of the package manager in both runtime images (yum on AL2; rpm/dnf on AL2023, see `rpm -qa` of public.ecr.aws/lambda/python:3.12 in amazonlinux/amazon-linux-2023 issue 585), and numpy's manylinux wheels, whose bundled libgfortran needs it, import on every Lambda Python runtime",
  },
  unverifiedLibrary("libbz2.so.1"),
  unverifiedLibrary("liblzma.so.5"),
  unverifiedLibrary("libexpat.so.1"),
  unverifiedLibrary("libffi.so.6"),
  unverifiedLibrary("libffi.so.8"),
  unverifiedLibrary("libssl.so.10", `OpenSSL 1.0.2 of Amazon Linux 2; ${NOT_CONFIRMED}`),
  unverifiedLibrary("libcrypto.so.10", `OpenSSL 1.0.2 of Amazon Linux 2; ${NOT_CONFIRMED}`),
  unverifiedLibrary("libssl.so.3", `OpenSSL 3 of Amazon Linux 2023; ${NOT_CONFIRMED}`),
  unverifiedLibrary("libcrypto.so.3", `OpenSSL 3 of Amazon Linux 2023; ${NOT_CONFIRMED}`),
  {
    name: "libglib-2.0.so.0",
    onAmazonLinux2: "absent",
    onAmazonLinux2023: "unverified",
    source: `${GLIB_ABSENT_ON_AL2}; ${GLIB_ON_AL2023}`,
  },
  {
    name: "libgobject-2.0.so.0",
    onAmazonLinux2: "absent",
    onAmazonLinux2023: "unverified",
    source: `${GLIB_ABSENT_ON_AL2}; ${GLIB_ON_AL2023}`,
  },
  {
    name: "libgthread-2.0.so.0",
    onAmazonLinux2: "absent",
    onAmazonLinux2023: "unverified",
    source: `${GLIB_ABSENT_ON_AL2}; ${GLIB_ON_AL2023}`,
  },
  {
    name: "libGL.so.1",
    onAmazonLinux2: "absent",
    onAmazonLinux2023: "unverified",
    source: `${LIBGL_ABSENT_ON_AL2}; not confirmed for Amazon Linux 2023`,
  },
  unverifiedLibrary("libX11.so.6"),
  unverifiedLibrary("libXext.so.6"),
  unverifiedLibrary("libXrender.so.1"),
  unverifiedLibrary("libICE.so.6"),
  unverifiedLibrary("libSM.so.6"),
];

/** Whether `name` is in `runtime`'s base image on `architecture`, with the source; undefined when not listed. */
export function baseLibrary(
  name: string,
  runtime: LambdaRuntime,
  architecture: Architecture,
): { presence: Presence; source: string } | undefined {
  const libraryPython = /^libpython3\.(\d+)\.so\.1\.0$/.exec(name);
  if (libraryPython !== undefined && libraryPython !== null) {
    return {
      presence: "unverified",
      source: `the Lambda runtime's own Python lives in /var/lang; whether it ships ${name} there is not confirmed, and extension modules should not link it (PEP 513)`,
    };
  }
  for (const library of BASE_LIBRARIES) {
    if (library.name !== name) continue;
    if (library.architectures !== undefined && !library.architectures.includes(architecture)) {
      continue;
    }
    return {
      presence:
        runtime.os === "Amazon Linux 2" ? library.onAmazonLinux2 : library.onAmazonLinux2023,
      source: library.source,
    };
  }
  return undefined;
}

/** `GLIBC_2.28` → `{ family: "GLIBC", version: [2, 28] }`; undefined for names without a numeric version. */
export function parseSymbolVersion(
  name: string,
): { family: "GLIBC" | "GLIBCXX" | "CXXABI"; version: number[] } | undefined {
  const match = /^(GLIBC|GLIBCXX|CXXABI)_(\d+(?:\.\d+)*)$/.exec(name);
  if (match === null) return undefined;
  return {
    family: match[1] as "GLIBC" | "GLIBCXX" | "CXXABI",
    version: match[2]!.split(".").map(Number),
  };
}

export function compareVersions(a: VersionTriple, b: VersionTriple): number {
  const length = Math.max(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const difference = (a[index] ?? 0) - (b[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

export function formatVersion(version: VersionTriple): string {
  return version.join(".");
}
