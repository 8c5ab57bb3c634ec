#!/usr/bin/env python3
"""bench/learning/paper/report.py on results whose statistics are known: the final score's
mean, spread and range over seeds, the env steps at which each seed first reached 0.5
normalised (the median over the seeds that did, and how many), an arm without results left
out, and the table written as CSV.

Run: python3 tests/bench/learning/paper_report_test.py [repo root]
"""
import csv
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else __file__).resolve()
if ROOT.is_file():
    ROOT = ROOT.parents[3]
REPORT = ROOT / "bench" / "learning" / "paper" / "report.py"
HEADER = ("wall_seconds,policy,task,param_version,learner_step,env_steps,episodes,return_mean,"
          "return_std,return_min,return_max,success_rate,normalized_score,"
          "target_heading_cosine,target_reached_rate")


def write_eval(path, scores, env_steps):
    lines = [HEADER, "0.9,random,REACH_RED,-1,-1,0,20,4.0,8.0,0,30,0,,0,0",
             "2.3,scripted,REACH_RED,-1,-1,0,20,183.0,7.0,167,193,1,1,0.86,1"]
    for k, (score, env) in enumerate(zip(scores, env_steps)):
        lines.append(f"{60 * (k + 1)},learned,REACH_RED,{k},{1000 * k},{env},20,100,10,0,200,"
                     f"0.5,{score},0.5,0.5")
    path.write_text("\n".join(lines) + "\n")


class PaperReport(unittest.TestCase):
    def setUp(self):
        self.results = pathlib.Path(tempfile.mkdtemp(prefix="ivg_paper_report_"))
        self.arms = self.results / "arms.txt"
        self.arms.write_text("# comment\nfast\nslow  learner.imagination_horizon=1\nmissing\n")

    def tearDown(self):
        shutil.rmtree(self.results, ignore_errors=True)

    def test_table_over_seeds(self):
        write_eval(self.results / "exp_fast_s1_eval.csv", [0.1, 0.6, 0.7], [0, 1000, 2000])
        write_eval(self.results / "exp_fast_s1_final_eval.csv", [0.8], [-1])
        write_eval(self.results / "exp_fast_s2_eval.csv", [0.2, 0.4, 0.5], [0, 1500, 3000])
        write_eval(self.results / "exp_fast_s2_final_eval.csv", [0.6], [-1])
        write_eval(self.results / "exp_slow_s1_eval.csv", [0.0, 0.1], [0, 900])
        write_eval(self.results / "exp_slow_s1_final_eval.csv", [0.1], [-1])
        env = dict(os.environ, IVG_PAPER_RESULTS=str(self.results))
        run = subprocess.run([sys.executable, str(REPORT), "exp", "2", str(self.arms)], env=env,
                             capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        with open(self.results / "exp_table.csv", newline="") as f:
            rows = {row["arm"]: row for row in csv.DictReader(f)}
        self.assertEqual(sorted(rows), ["fast", "slow"])  # no results: no row
        fast = rows["fast"]
        self.assertEqual(fast["seeds"], "2")
        self.assertAlmostEqual(float(fast["final_mean"]), 0.7)
        self.assertAlmostEqual(float(fast["final_std"]), 0.141, places=3)  # sample std of 0.8, 0.6
        self.assertEqual((fast["final_min"], fast["final_max"]), ("0.600", "0.800"))
        self.assertEqual(fast["env_steps_to_0.5"], "2000")  # median of 1000 and 3000
        self.assertEqual(fast["reached_0.5"], "2/2")
        slow = rows["slow"]
        self.assertEqual(slow["seeds"], "1")
        self.assertEqual(slow["env_steps_to_0.5"], "")
        self.assertEqual(slow["reached_0.5"], "0/1")
        self.assertIn("| fast | 2 | 0.700 |", run.stdout)

    def test_no_results_is_an_error(self):
        env = dict(os.environ, IVG_PAPER_RESULTS=str(self.results))
        run = subprocess.run([sys.executable, str(REPORT), "exp", "3", str(self.arms)], env=env,
                             capture_output=True, text=True)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("no results", run.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
