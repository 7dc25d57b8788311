"""Golden hashes for the lock freshness checks, computed by hand with Python 3.11.

Run: python3.11 generate.py > hashes.json

- Poetry's content-hash: sha256 of json.dumps(relevant, sort_keys=True) over the parts of
  pyproject.toml Poetry's Locker._get_content_hash reads (python-poetry/poetry,
  src/poetry/packages/locker.py), with and without [dependency-groups].
- pipenv's Pipfile hash: sha256 of json.dumps(data, sort_keys=True, separators=(",", ":"))
  as plette's Pipfile.get_hash builds data (pipenv/vendor/plette/pipfiles.py), for Pipfiles
  with a [[source]]; and pipenv's newer variant with PEP 503 names.
- Python's json.dumps of assorted TOML values (ensure_ascii, float repr, key order).
"""
import hashlib
import json
import pathlib
import re
import tomllib

HERE = pathlib.Path(__file__).parent


def poetry_hash(data, with_groups=True):
    project = data.get("project", {})
    groups = data.get("dependency-groups", {}) if with_groups else {}
    poetry = data.get("tool", {}).get("poetry", {})
    legacy = ["dependencies", "source", "extras", "dev-dependencies"]
    relevant_project = {k: project[k] for k in ["requires-python", "dependencies", "optional-dependencies"] if project.get(k) is not None}
    relevant_poetry = {}
    for key in [*legacy, "group"]:
        value = poetry.get(key)
        if value is None and (key not in legacy or relevant_project or groups):
            continue
        relevant_poetry[key] = value
    relevant = {}
    if relevant_project:
        relevant["project"] = relevant_project
    if groups:
        relevant["dependency-groups"] = groups
    if relevant:
        relevant["tool"] = {"poetry": relevant_poetry}
    else:
        relevant = relevant_poetry
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()


def pipfile_hash(data, normalize=False):
    def names(section):
        if not normalize:
            return section
        return {re.sub(r"[-_.]+", "-", k).lower(): v for k, v in section.items()}

    reserved = {"source", "packages", "dev-packages", "requires", "scripts", "pipfile", "pipenv"}
    out = {
        "_meta": {
            # Golden Pipfiles name their [[source]]; pipenv's default for none is tested in TS.
            "sources": data["source"],
            "requires": data.get("requires", {}),
        },
        "default": names(data.get("packages", {})),
        "develop": names(data.get("dev-packages", {})),
    }
    for category, values in data.items():
        if category in reserved or category in ("default", "develop"):
            continue
        out[category] = names(values)
    return hashlib.sha256(json.dumps(out, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


result = {"poetry": {}, "pipfile": {}, "json": {}}
for path in sorted(HERE.glob("*.pyproject.toml")):
    data = tomllib.loads(path.read_text())
    result["poetry"][path.name] = {"withGroups": poetry_hash(data), "withoutGroups": poetry_hash(data, False)}
for path in sorted(HERE.glob("*.Pipfile")):
    data = tomllib.loads(path.read_text())
    result["pipfile"][path.name] = {"plette": pipfile_hash(data), "normalized": pipfile_hash(data, True)}
for path in sorted(HERE.glob("*.values.toml")):
    data = tomllib.loads(path.read_text())
    result["json"][path.name] = {
        "default": json.dumps(data, sort_keys=True),
        "compact": json.dumps(data, sort_keys=True, separators=(",", ":")),
    }
print(json.dumps(result, indent=2, sort_keys=True))
