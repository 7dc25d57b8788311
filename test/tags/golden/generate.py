"""Generates the golden compatible-tag lists in this folder.

Run by hand (the tests never run Python), from the repository root:

    python3.11 test/tags/golden/generate.py

It needs the `packaging` library. For each Lambda target it writes
`<runtime>-<architecture>.json` with the tags of `packaging.tags.cpython_tags`
followed by `packaging.tags.compatible_tags`, best first, which is the order
`packaging.tags.sys_tags` uses for CPython. The platform list is built here
the way `packaging._manylinux.platform_tags` yields it for a glibc of
(2, cap): `manylinux_2_{cap}` down to the architecture's oldest manylinux
glibc, each legacy alias right after its perennial twin. `linux_<arch>` (not
portable) and musllinux tags are deliberately left out.
"""

import json
import pathlib

import packaging
from packaging.tags import compatible_tags, cpython_tags

# Lambda runtimes: (runtime, (major, minor), glibc minor of major 2).
RUNTIMES = [
    ("python3.9", (3, 9), 26),
    ("python3.10", (3, 10), 26),
    ("python3.11", (3, 11), 26),
    ("python3.12", (3, 12), 34),
    ("python3.13", (3, 13), 34),
    ("python3.14", (3, 14), 34),
]

# Lambda architecture name -> (wheel machine, oldest manylinux glibc minor, legacy aliases).
# PEP 513 / 571 / 599 / 600: manylinux1 = 2_5, manylinux2010 = 2_12 (x86_64 and i686 only),
# manylinux2014 = 2_17; aarch64 manylinux starts at glibc 2.17.
ARCHITECTURES = {
    "x86_64": ("x86_64", 5, {5: "manylinux1", 12: "manylinux2010", 17: "manylinux2014"}),
    "arm64": ("aarch64", 17, {17: "manylinux2014"}),
}


def manylinux_platforms(machine, glibc_cap, glibc_min, aliases):
    platforms = []
    for minor in range(glibc_cap, glibc_min - 1, -1):
        platforms.append(f"manylinux_2_{minor}_{machine}")
        if minor in aliases:
            platforms.append(f"{aliases[minor]}_{machine}")
    return platforms


def main():
    folder = pathlib.Path(__file__).parent
    for runtime, python_version, glibc_cap in RUNTIMES:
        for architecture, (machine, glibc_min, aliases) in ARCHITECTURES.items():
            platforms = manylinux_platforms(machine, glibc_cap, glibc_min, aliases)
            interpreter = f"cp{python_version[0]}{python_version[1]}"
            tags = list(
                cpython_tags(
                    python_version=python_version, abis=[interpreter], platforms=platforms
                )
            )
            tags += list(
                compatible_tags(
                    python_version=python_version, interpreter=interpreter, platforms=platforms
                )
            )
            document = {
                "generator": f"test/tags/golden/generate.py with packaging {packaging.__version__}",
                "target": f"{runtime}-{architecture}",
                "tags": [str(tag) for tag in tags],
            }
            path = folder / f"{runtime}-{architecture}.json"
            path.write_text(json.dumps(document, indent=2) + "\n")
            print(f"{path.name}: {len(tags)} tags")


if __name__ == "__main__":
    main()
