"""PEP 440 vectors from the reference implementation, `packaging` (run with its version 26).

Run: python3.11 generate.py > vectors.json

Every (specifier set, version) pair below is evaluated twice with packaging's
SpecifierSet.contains: with pre-releases allowed (prereleases=True), and with the default
rule pylayer applies (PEP 440 "Handling of pre-releases": pre-releases are admitted when
a clause names one, i.e. when SpecifierSet.prereleases is true). Versions cover epochs,
pre-, post- and dev-releases, local labels, trailing zeros and alternative spellings; the
specifiers cover every operator of PEP 440 "Version specifiers" with such versions and
the `.*` wildcards. Also recorded: which strings parse, the normalized form of each
version, and the sorted order of all versions.
"""
import itertools
import json

import packaging
from packaging.specifiers import InvalidSpecifier, SpecifierSet, Specifier
from packaging.version import InvalidVersion, Version

BASES = ["0", "0.1", "1", "1.0", "1.0.0", "1.1", "2", "2.0", "2.0.1", "2.1", "10.0"]
SUFFIXES = ["", "a0", "a1", "b2", "rc1", ".post0", ".post1", ".dev0", ".dev1", "a1.dev0", "rc1.post1", ".post1.dev0"]
LOCALS = ["", "+local", "+1", "+abc.5", "+5.abc"]

VERSIONS = sorted(
    {
        f"{epoch}{base}{suffix}{local}"
        for epoch in ["", "1!"]
        for base in ["0.1", "1.0", "2", "2.0", "2.0.1", "2.1"]
        for suffix in SUFFIXES
        for local in (LOCALS if suffix in ("", ".post1", "rc1") else [""])
    }
    | {
        # Alternative spellings (PEP 440 "Normalization").
        "1.0-1", "1.0_post_2", "1.0.r3", "1.0rev4", "1.0alpha1", "1.0-beta.2", "1.0c1", "1.0pre3",
        "1.0preview4", "1.0.DEV5", "v1.0", "V2.0.1", "1.0+LOCAL", "1.0+local-x_y", "01.02", "1.0a",
        "1.0.post", "1.0.dev", "0", "0.0.dev0", "0.dev0", "10.0", "3", "1.1", "1.0.1", "2.0.0", "2.0.0.0",
    }
)

SPEC_VERSIONS = ["0.1", "1", "1.0", "1.0.0", "2", "2.0", "2.0.1", "2.1", "1!0.1", "1!2.0",
                 "2.0a0", "2.0a1", "2.0rc1", "2.0.dev0", "2.0.dev1", "2.0a1.dev0", "2.0.post1",
                 "2.0.post1.dev0", "2.0rc1.post1", "1!2.0rc1"]
LOCAL_SPEC_VERSIONS = ["2.0+local", "2.0+1", "1!2.0+local", "2.0.post1+abc.5", "2.0rc1+local"]
WILDCARDS = ["0.*", "1.*", "1.0.*", "2.*", "2.0.*", "2.0.0.*", "2.0.1.*", "2.1.*", "1!2.*", "1!2.0.*"]
SPELLINGS = ["v2.0", "2.0-1", "2.0.r1", "2.0-rc.1", "2.0alpha1", "2.0.DEV0", "02.0"]

def specifiers():
    result = []
    for version in SPEC_VERSIONS:
        for operator in ["==", "!=", "<=", ">=", "<", ">", "~=", "==="]:
            result.append(f"{operator}{version}")
    for version in LOCAL_SPEC_VERSIONS:
        for operator in ["==", "!=", "==="]:
            result.append(f"{operator}{version}")
    for wildcard in WILDCARDS:
        result.append(f"=={wildcard}")
        result.append(f"!={wildcard}")
    for version in SPELLINGS:
        for operator in ["==", "!=", "<=", ">=", "<", ">"]:
            result.append(f"{operator}{version}")
    result += [
        ">=1.0,<2.0", ">=1.0,<2.0a0", ">1.0,!=2.0.*", ">=2.0a1,<2.1", "~=2.0,!=2.0.1", ">=1!0,<1!3",
        "<=2.0,>=2.0", "==2.*,!=2.0.post1", " >= 1.0 , < 2 ", ">=1.0,!=2.0a1", "!=2.0rc1,>=2.0.dev0",
    ]
    valid = []
    for text in result:
        try:
            SpecifierSet(text)
        except InvalidSpecifier:
            continue
        valid.append(text)
    return valid

INVALID_SPECIFIERS = ["~=1", "~=1.*", ">=1.*", "<1.0+local", "==1.0a1.*", "=1.0", "=>1.0", "1.0", ">=", "==1.0.*.*",
                      "<<2", ">=1.0,<<2", "~=1.0+local", ">=v", "==1.0.post1.*", "!=1.0+local.*"]
INVALID_VERSIONS = ["", "not-a-version", "1.0-foo-bar", "1..0", "1.0+", "1.0+lo cal", "1.0++a", "1!", "!1.0",
                    "1.0.*", "1.0a1b2", "1.0_", "v", "1.0+local+other", "1.0 a1"]


def main():
    specs = specifiers()
    rows = []
    for text in specs:
        spec_set = SpecifierSet(text)
        default = bool(spec_set.prereleases)
        rows.append({
            "specifier": text,
            "allowed": "".join("1" if spec_set.contains(v, prereleases=True) else "0" for v in VERSIONS),
            "default": "".join("1" if spec_set.contains(v, prereleases=default) else "0" for v in VERSIONS),
        })
    specifiers_invalid = []
    for text in INVALID_SPECIFIERS:
        try:
            SpecifierSet(text)
        except InvalidSpecifier:
            specifiers_invalid.append(text)
    versions_invalid = []
    for text in INVALID_VERSIONS:
        try:
            Version(text)
        except InvalidVersion:
            versions_invalid.append(text)
    parsed = [Version(v) for v in VERSIONS]
    order = sorted(range(len(VERSIONS)), key=lambda index: (parsed[index], index))
    # Ranks: equal versions (1.0 and 1.0.0) share a rank.
    ranks = [0] * len(VERSIONS)
    rank = 0
    for position, index in enumerate(order):
        if position > 0 and parsed[index] != parsed[order[position - 1]]:
            rank += 1
        ranks[index] = rank
    document = {
        "generator": f"packaging {packaging.__version__}",
        "versions": [{"text": v, "normalized": str(p), "public": p.public, "rank": r}
                     for v, p, r in zip(VERSIONS, parsed, ranks)],
        "invalidVersions": versions_invalid,
        "invalidSpecifiers": specifiers_invalid,
        "specifiers": rows,
    }
    print(json.dumps(document, indent=1))


main()
