#!/usr/bin/env python3
"""The layout's dependency rules (docs/architecture.md), checked on every source file's #include lines.

- A service folder includes only its own files, common/, proto/ and other services' client
  libraries (services/<name>/client/), never another service's internals.
- common/ includes nothing under services/.
- The model core (common/model/) is LibTorch only: no proto, gRPC, absl or glog header.
- No service's main.cc and no gRPC handler file reaches a LibTorch header, directly or
  through project headers (they stay cheap to compile and free of ATen).
- Nothing includes the umbrella <torch/torch.h>: narrower headers compile in a fraction of
  the time (docs/architecture.md, "Build time").
Run: python3 tests/layout/include_rules_test.py [repo root]
"""
import pathlib
import re
import sys
import unittest

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else __file__).resolve()
if ROOT.is_file():
    ROOT = ROOT.parents[2]
SERVICES = ("actor", "learner", "replay", "param_server", "launcher")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
LIBTORCH = ("torch/", "ATen/", "c10/", "caffe2/")


def sources(folder):
    base = ROOT / folder
    return sorted(p for p in base.rglob("*") if p.suffix in (".h", ".cc", ".in") and p.is_file())


def includes(path):
    return INCLUDE.findall(path.read_text(errors="replace"))


def rel(path):
    return path.relative_to(ROOT).as_posix()


def reaches_libtorch(path, seen=None):
    """The chain of project headers from `path` to a LibTorch header, or None."""
    seen = set() if seen is None else seen
    for kind, name in includes(path):
        if kind == "<" and name.startswith(LIBTORCH):
            return [name]
        if kind == '"':
            header = ROOT / name
            if header.is_file() and name not in seen:
                seen.add(name)
                chain = reaches_libtorch(header, seen)
                if chain:
                    return [name] + chain
    return None


class IncludeRules(unittest.TestCase):
    def test_services_include_no_other_service_internals(self):
        bad = []
        for service in SERVICES:
            for path in sources(f"services/{service}"):
                for kind, name in includes(path):
                    m = re.match(r"services/([^/]+)/", name)
                    if kind != '"' or not m or m.group(1) == service:
                        continue
                    if re.match(r"services/[^/]+/client/", name):
                        continue  # client libraries are the services' public API
                    bad.append(f"{rel(path)} includes {name}")
        self.assertEqual(bad, [], "a service includes another service's internals")

    def test_common_includes_nothing_under_services(self):
        bad = [f"{rel(p)} includes {n}" for p in sources("common") for k, n in includes(p)
               if n.startswith("services/")]
        self.assertEqual(bad, [])

    def test_model_core_is_libtorch_only(self):
        bad = [f"{rel(p)} includes {n}" for p in sources("common/model") for k, n in includes(p)
               if n.startswith(("proto/", "grpc", "grpcpp/", "absl/", "glog/", "google/"))
               or (k == '"' and not n.startswith("common/model/"))]
        self.assertEqual(bad, [], "common/model must depend on LibTorch only")

    def test_mains_and_grpc_handlers_reach_no_libtorch_header(self):
        checked = [p for p in sources("services") if p.name == "main.cc"
                   or p.name.endswith(("_service.h", "_service.cc"))]
        self.assertGreater(len(checked), 5)
        bad = []
        for path in checked:
            chain = reaches_libtorch(path)
            if chain:
                bad.append(f"{rel(path)} -> " + " -> ".join(chain))
        self.assertEqual(bad, [], "LibTorch reached from a main or gRPC handler")

    def test_nothing_includes_the_torch_umbrella_header(self):
        bad = [rel(p) for folder in ("common", "services", "tests", "bench")
               for p in sources(folder) for k, n in includes(p) if n in ("torch/torch.h",
                                                                         "torch/all.h")]
        self.assertEqual(bad, [])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
