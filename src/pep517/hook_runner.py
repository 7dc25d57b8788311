"""
pylayer's PEP 517 hook runner (like pyproject_hooks' ``_in_process.py``), run by
src/pep517/hooks.ts as ``python -S -s -u hook_runner.py CONTROL``: ``CONTROL/input.json``
names the build environment folders (added with ``site.addsitedir``, which honours their
``.pth`` files), the backend (``module:object``), its ``backend-path``, the hook and its
keyword arguments; the result goes to ``CONTROL/output.json``, never to stdout (the
backend's output goes to the build log):

- ``{"return": value}`` from the hook;
- ``{"unsupported": true}`` when the backend has no such hook (PEP 517's optional ones);
- ``{"error": "backend-unavailable" | "backend-invalid", "traceback": text}`` when the
  backend cannot be imported, or was imported from outside ``backend-path``.

A hook that raises ends the process with a traceback on stderr and a non-zero status.
"""
import importlib, json, os, site, sys, traceback

def main():
    control = sys.argv[1]
    with open(os.path.join(control, "input.json"), encoding="utf-8") as handle:
        request = json.load(handle)
    for folder in request["site"]:
        site.addsitedir(folder)
    backend_path = [os.path.abspath(entry) for entry in request["backend_path"]]
    sys.path[:0] = backend_path
    module_name, _, object_path = request["backend"].partition(":")
    output = {}
    try:
        backend = importlib.import_module(module_name)
    except ImportError:
        output = {"error": "backend-unavailable", "traceback": traceback.format_exc()}
    else:
        if backend_path:
            location = os.path.abspath(getattr(backend, "__file__", "") or "")
            if not any(location.startswith(entry + os.sep) or location == entry for entry in backend_path):
                output = {"error": "backend-invalid", "traceback": "%s was imported from %s, outside backend-path" % (module_name, location)}
        if not output:
            for part in filter(None, object_path.split(".")):
                backend = getattr(backend, part)
            hook = getattr(backend, request["hook"], None)
            if hook is None:
                output = {"unsupported": True}
            else:
                output = {"return": hook(**request["kwargs"])}
    with open(os.path.join(control, "output.json"), "w", encoding="utf-8") as handle:
        json.dump(output, handle)

if __name__ == "__main__":
    main()
