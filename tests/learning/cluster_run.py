"""What the learning tests share: one run of the whole local cluster for a budget in learner
steps, exactly as a user starts it (`ivg_cluster`), and the evaluator's rows it wrote."""

import argparse
import csv
import os
import subprocess
import sys
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_cluster(launcher, config, work, learner_steps, seed, extra_args, timeout_seconds):
    """Runs ivg_cluster on `config` in <work>/run for `learner_steps` learner steps with the
    actors' seed `seed`; returns (exit code, log path, run dir). The actors run at the
    learners' priority (--actor_nice=0): the tests' margins were measured that way, and niced
    actors fell behind the learners (bench/README.md, "The learning test")."""
    run_dir = os.path.join(work, "run")
    os.makedirs(work, exist_ok=True)
    command = [launcher, "--config=" + config, "--run_dir=" + run_dir,
               "--learner_steps=%d" % learner_steps, "--progress_seconds=10",
               "--actor_nice=0", "--set", "actor.seed=%d" % seed] + list(extra_args)
    print("running:", " ".join(command), flush=True)
    start = time.time()
    log_path = os.path.join(work, "cluster.log")
    with open(log_path, "w") as log:
        completed = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                                   timeout=timeout_seconds, check=False)
    print("ivg_cluster exited %d after %.0f s (log %s)" %
          (completed.returncode, time.time() - start, log_path), flush=True)
    with open(log_path) as log:
        progress = [line.rstrip() for line in log if line.startswith("[")]
    for line in progress[-3:]:
        print("  " + line[:300])
    return completed.returncode, log_path, run_dir


def read_eval_rows(run_dir):
    """The evaluator's rows (eval.csv), or None when it wrote none."""
    path = os.path.join(run_dir, "eval.csv")
    if not os.path.exists(path):
        return None
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main(doc):
    """Parses --launcher, --seed and --keep into the returned namespace and runs the calling
    module's unittest cases with the remaining arguments."""
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--launcher", required=True, help="path to ivg_cluster")
    parser.add_argument("--seed", type=int, default=0, help="actor.seed of the run")
    parser.add_argument("--keep", default="", help="keep the run in this directory")
    args, rest = parser.parse_known_args()
    return args, [sys.argv[0]] + rest


def run_tests(argv):
    unittest.main(module="__main__", argv=argv, verbosity=2)
