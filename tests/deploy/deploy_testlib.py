"""Shared helpers of the deploy tests (tests/deploy/*_test.py).

The tests read the deploy files the way the tools do (docker-compose, kubectl kustomize,
promtool, Prometheus) and compare them with the local launcher's plan: `ivg_cluster
--dry_run` prints every process's command line and is the source of truth for binaries and
flags. They run under /usr/bin/python3 with python3-yaml (a dependency of docker-compose,
scripts/debian-packages.txt).
"""
import argparse
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile

import yaml

SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(SOURCE_DIR, "deploy")
COMPOSE_FILE = os.path.join(DEPLOY, "docker", "docker-compose.yml")
COMPOSE_GPU_FILE = os.path.join(DEPLOY, "docker", "docker-compose.gpu.yml")
DASHBOARD_DIR = os.path.join(DEPLOY, "grafana", "dashboards")
K8S_BASE = os.path.join(DEPLOY, "k8s", "base")
SWEEP_DIR = os.path.join(DEPLOY, "k8s", "sweep")

# Binaries the launcher starts, by role.
SERVICE_BINARIES = ("ivg_replay_server", "ivg_param_server", "ivg_learner", "ivg_actor",
                    "ivg_evaluator")
# The role (Prometheus job label) of each binary's processes, as the launcher labels them.
ROLES = {"ivg_replay_server": "replay", "ivg_param_server": "param_server",
         "ivg_learner": "learner", "ivg_actor": "actor", "ivg_evaluator": "evaluator"}

# Set by parse_args(): the ivg_cluster binary under test.
LAUNCHER = None


def parse_args():
    """Strips this suite's flags from sys.argv (the rest goes to unittest)."""
    global LAUNCHER
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--launcher", help="path of the ivg_cluster binary")
    options, rest = parser.parse_known_args()
    if options.launcher:
        LAUNCHER = os.path.abspath(options.launcher)
    sys.argv = [sys.argv[0]] + rest
    return options


def docker_list(name):
    """The entries of a list file in deploy/docker (one per line; '#' starts a comment line)."""
    with open(os.path.join(DEPLOY, "docker", name)) as f:
        return [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]


def require_tool(name):
    """The path of `name` on PATH; a missing tool is a failure, never a skip."""
    path = shutil.which(name)
    if path is None:
        raise AssertionError("'%s' is not installed; run scripts/bootstrap.sh (%s)"
                             % (name, "or install kubectl" if name == "kubectl" else
                                "scripts/debian-packages.txt lists it"))
    return path


def run(argv, check=True, **kwargs):
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError("%s exited %d:\n%s%s" % (" ".join(argv), result.returncode,
                                                      result.stdout, result.stderr))
    return result


# Where scripts/bootstrap.sh unpacks Debian 12's kubectl when another one is on PATH.
DEBIAN_KUBECTL = "/usr/local/lib/ivg/debian-kubectl/kubectl"


def kubectls():
    """[(version, path)] of every distinct kubectl here: the one on PATH and Debian 12's
    (1.20, kustomize v2) when bootstrap unpacked it beside a newer one. Users apply the
    manifests with either, so the tests render with each."""
    found = []
    for path in (require_tool("kubectl"), os.environ.get("IVG_DEBIAN_KUBECTL", DEBIAN_KUBECTL)):
        if not os.access(path, os.X_OK):
            continue
        version = run([path, "version", "--client", "-o", "json"]).stdout
        version = json.loads(version)["clientVersion"]["gitVersion"]
        if version not in [v for v, _ in found]:
            found.append((version, path))
    return found


def stub_binary_dir():
    """A folder of do-nothing service binaries: --dry_run only needs them to exist."""
    folder = tempfile.mkdtemp(prefix="ivg_deploy_bin_")
    for name in SERVICE_BINARIES:
        path = os.path.join(folder, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return folder


def launcher_plan(config, overrides=()):
    """ivg_cluster --dry_run for `config`: a list of (process name, argv)."""
    if LAUNCHER is None:
        raise AssertionError("this suite needs --launcher=<build>/services/launcher/ivg_cluster")
    bin_dir = stub_binary_dir()
    try:
        result = run([LAUNCHER, "--dry_run", "--run_dir=/tmp/ivg_deploy_dry_run",
                      "--config=%s" % config, "--bin_dir=%s" % bin_dir]
                     + ["--set=%s" % o for o in overrides], check=False)
    finally:
        shutil.rmtree(bin_dir)
    if result.returncode != 0:
        raise AssertionError("ivg_cluster --dry_run --config=%s %s rejected it:\n%s"
                             % (config, " ".join(overrides), result.stderr[-2000:]))
    plan = []
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            plan.append((parts[0], parts[1:]))
    if not plan:
        raise AssertionError("ivg_cluster --dry_run printed no processes")
    return plan


def flags(argv):
    """{'--name': value or None} of a command line's flags (argv[0] excluded)."""
    result = {}
    for arg in argv[1:]:
        if not arg.startswith("--"):
            raise AssertionError("argument %r of %s is not a --flag" % (arg, argv[0]))
        name, _, value = arg.partition("=")
        result[name] = value if "=" in arg else None
    return result


def port_of(address):
    """'8080' of 'host:8080' (the services' --address / --metrics_address values)."""
    host, sep, port = address.rpartition(":")
    if not sep or not host:
        raise AssertionError("%r is not host:port" % address)
    return port


def binary(argv):
    return os.path.basename(argv[0])


def launcher_flags_by_binary(plan):
    """{binary: set of flag names}; every process of one binary has the same flags."""
    by_binary = {}
    for name, argv in plan:
        names = set(flags(argv))
        previous = by_binary.setdefault(binary(argv), names)
        if previous != names:
            raise AssertionError("launcher processes of %s differ in flags: %s vs %s"
                                 % (binary(argv), sorted(previous), sorted(names)))
    return by_binary


def config_fields(path):
    """The few scalar and repeated string fields the deploy files must agree with, read
    from a textproto without a protobuf parser: {'field': [values...]} (last path part)."""
    fields = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0]
            for key, value in re.findall(r'(\w+)\s*:\s*("[^"]*"|[\w.+-]+)', line):
                fields.setdefault(key, []).append(value.strip('"'))
    return fields


def load_yaml_documents(text):
    return [doc for doc in yaml.safe_load_all(text) if doc]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
