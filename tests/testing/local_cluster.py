"""A local cluster started by ivg_cluster, watched from outside as a user would watch it.

Shared by the Python integration tests (tests/hostile, tests/learning): it starts the
launcher in a temporary run directory, reads its progress lines and run config, finds each
process's /metrics port and stops it. Standard library plus the generated protobuf modules
(load_protos), nothing else.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request


def load_protos(build):
    """Makes the generated modules under <build>/python importable; returns config_pb2."""
    sys.path.insert(0, os.path.join(build, "python"))
    from proto import config_pb2
    return config_pb2


def parse_test_args(doc):
    """The flags every cluster test takes (--launcher, --build); makes the generated protobuf
    modules importable. Returns (args, argv for unittest.main)."""
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--launcher", required=True, help="path to ivg_cluster")
    parser.add_argument("--build", required=True, help="build folder (python/ stubs)")
    args, rest = parser.parse_known_args()
    load_protos(args.build)
    return args, [sys.argv[0]] + rest


class Cluster:
    """ivg_cluster in `work`/run, its output in `work`/cluster.log."""

    def __init__(self, launcher, work, config, extra_args=()):
        self.run_dir = os.path.join(work, "run")
        self.log_path = os.path.join(work, "cluster.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [launcher, "--config=" + config, "--run_dir=" + self.run_dir,
             "--progress_seconds=2"] + list(extra_args),
            stdout=self.log, stderr=subprocess.STDOUT)

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def progress(self):
        with open(self.log_path) as f:
            return [line for line in f if line.startswith("[")]

    def learner_step(self):
        lines = self.progress()
        if not lines:
            return -1
        part = lines[-1].split("learner step ")[1]
        return int(part.split()[0])

    def wait_until_learner_step(self, step, timeout=180):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("ivg_cluster exited: " + self.output()[-3000:])
            if self.learner_step() >= step:
                return
            time.sleep(1)
        raise AssertionError("the learners did not reach step %d within %d s: %s"
                             % (step, timeout, self.output()[-3000:]))

    def config(self):
        from google.protobuf import text_format
        from proto import config_pb2
        config = config_pb2.ExperimentConfig()
        with open(os.path.join(self.run_dir, "config.textproto")) as f:
            text_format.Parse(f.read(), config)
        return config

    def metrics_text(self, process):
        """The /metrics page of one process (e.g. 'learner-0'), from prometheus_targets.json."""
        with open(os.path.join(self.run_dir, "prometheus_targets.json")) as f:
            for target in json.load(f):
                if target["labels"]["process"] == process:
                    url = "http://%s/metrics" % target["targets"][0]
                    with urllib.request.urlopen(url, timeout=5) as response:
                        return response.read().decode()
        raise KeyError("no process %s in prometheus_targets.json" % process)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        return self.output()
