#!/usr/bin/env python3
"""The layout's dependency rules (docs/architecture.md), checked on every source file's #include lines.

Four homes, each depending only on the ones below it:
  services/  one folder per process (services/tools/<tool>/ for each tool)
  env/       the Sawyer robot, its tasks and rewards (MuJoCo)
  model/     the IVG model: core/ (LibTorch only), config/ (config -> options), policy/
  common/    infrastructure only: status, gRPC glue, logging, metrics, config loading, tensors

- A service includes only its own files, common/, model/, env/, proto/ and other services'
  client libraries (services/<name>/client/), never another service's internals.
- common/ includes nothing under services/, model/ or env/.
- model/ and env/ include nothing under services/, and neither includes the other.
- The model core (model/core/) is LibTorch only: no proto, gRPC, absl or glog header and no
  project header outside model/core/.
- No process's main (main.cc, *_main.cc) and no gRPC handler file reaches a LibTorch header,
  directly or through project headers (they stay cheap to compile and free of ATen).
- The replay table and its selectors know no config (they are injected; table_from_config.h
  is where replay reads the experiment config).
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
# Folders that must exist; each rule below is checked over every folder it names, so a rule
# never passes on an empty set because a folder moved.
SERVICES_EXPECTED = {"actor", "evaluator", "learner", "replay", "param_server", "launcher",
                     "tools/health_check", "tools/policy_client", "tools/viewer"}
HOMES = ("common", "model", "env", "services")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
LIBTORCH = ("torch/", "ATen/", "c10/", "caffe2/")


def sources(folder):
    base = ROOT / folder
    return sorted(p for p in base.rglob("*") if p.suffix in (".h", ".cc", ".in") and p.is_file())


def includes(path):
    return INCLUDE.findall(path.read_text(errors="replace"))


def rel(path):
    return path.relative_to(ROOT).as_posix()


def reaches(path, wanted, seen=None):
    """The chain of project headers from `path` to an include that `wanted(kind, name)`
    accepts, or None."""
    seen = set() if seen is None else seen
    for kind, name in includes(path):
        if wanted(kind, name):
            return [name]
        if kind == '"':
            header = ROOT / name
            if header.is_file() and name not in seen:
                seen.add(name)
                chain = reaches(header, wanted, seen)
                if chain:
                    return [name] + chain
    return None


def reaches_libtorch(path):
    return reaches(path, lambda kind, name: kind == "<" and name.startswith(LIBTORCH))


def services():
    """Every process folder: services/<name>/, and services/tools/<tool>/ for each tool."""
    found = set()
    for path in sorted((ROOT / "services").iterdir()):
        if path.name == "tools":
            found |= {f"tools/{tool.name}" for tool in path.iterdir() if tool.is_dir()}
        elif path.is_dir():
            found.add(path.name)
    return found


class IncludeRules(unittest.TestCase):
    def test_every_home_and_process_folder_is_where_the_rules_look(self):
        for home in HOMES:
            self.assertTrue(sources(home), f"{home}/ has no sources")
        self.assertLessEqual(SERVICES_EXPECTED, services())

    def test_services_include_no_other_service_internals(self):
        bad = []
        for service in sorted(services()):
            own = f"services/{service}/"
            for path in sources(f"services/{service}"):
                for kind, name in includes(path):
                    if kind != '"' or not name.startswith("services/") or name.startswith(own):
                        continue
                    if re.match(r"services/[^/]+/client/", name):
                        continue  # client libraries are the services' public API
                    bad.append(f"{rel(path)} includes {name}")
        self.assertEqual(bad, [], "a service includes another service's internals")

    def test_common_is_infrastructure_only(self):
        bad = [f"{rel(p)} includes {n}" for p in sources("common") for k, n in includes(p)
               if n.startswith(("services/", "model/", "env/"))]
        self.assertEqual(bad, [], "common/ includes a service, the model or the environment")

    def test_model_and_env_include_no_service_and_not_each_other(self):
        bad = [f"{rel(p)} includes {n}" for home, other in (("model", "env/"), ("env", "model/"))
               for p in sources(home) for k, n in includes(p)
               if k == '"' and n.startswith(("services/", other))]
        self.assertEqual(bad, [], "model/ or env/ reaches up into services/ or across")

    def test_model_core_is_libtorch_only(self):
        bad = [f"{rel(p)} includes {n}" for p in sources("model/core") for k, n in includes(p)
               if n.startswith(("proto/", "grpc", "grpcpp/", "absl/", "glog/", "google/"))
               or (k == '"' and not n.startswith("model/core/"))]
        self.assertEqual(bad, [], "model/core must depend on LibTorch only")

    def test_mains_and_grpc_handlers_reach_no_libtorch_header(self):
        checked = [p for p in sources("services") if p.name == "main.cc"
                   or p.name.endswith(("_main.cc", "_service.h", "_service.cc"))]
        self.assertGreater(len(checked), 5)
        bad = []
        for path in checked:
            chain = reaches_libtorch(path)
            if chain:
                bad.append(f"{rel(path)} -> " + " -> ".join(chain))
        self.assertEqual(bad, [], "LibTorch reached from a main or gRPC handler")

    def test_replay_table_and_selectors_know_no_config(self):
        # The table takes plain options and injected selectors; table_from_config.h and
        # selectors/selector_factory.h are the one place replay reads the experiment config.
        bad = []
        for name in ("table.h", "selectors/selector.h", "item_index.h", "rate_limiter.h",
                     "chunk_store.h"):
            chain = reaches(ROOT / "services/replay" / name,
                            lambda kind, header: header == "proto/config.pb.h")
            if chain:
                bad.append(f"services/replay/{name} -> " + " -> ".join(chain))
        self.assertEqual(bad, [], "the replay table reaches the config proto")

    def test_nothing_includes_the_torch_umbrella_header(self):
        bad = [rel(p) for folder in HOMES + ("tests", "bench")
               for p in sources(folder) for k, n in includes(p) if n in ("torch/torch.h",
                                                                         "torch/all.h")]
        self.assertEqual(bad, [])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
