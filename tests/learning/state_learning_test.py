#!/usr/bin/env python3
"""The state learning test: IVG from state must learn Reach-R in a budget of learner steps.

Runs `ivg_cluster` (replay shard with its own redis-server, parameter server, learner, actors
and the evaluator, all as separate processes, exactly as a user starts them) with the
shipped IVG-from-state profile, configs/cpu_state.textproto (proprioception and object
features, no cameras), for LEARNER_STEPS learner steps, then reads the evaluator's eval.csv:
the deterministic policy's best normalised score ((eval - random) / (scripted - random), the
three policies on the same 30 eval seeds) among the evaluations at or after half the budget
must reach MIN_SCORE. No timing enters the assertion: the budget is in learner steps and the
evaluator scores whatever parameters those steps produced.

Why the best of the second half and this bar (bench/README.md, "The state learning test"): over
actor seeds 0-4, with the profile as it ships (the trust region to the behaviour policy), the
evaluations at steps ~2,050 / ~3,070 / ~4,070 scored 0.20 / 0.72 / 0.78, 0.30 / 0.45 / 0.69,
0.49 / 0.67 / 0.25, 0.37 / 0.71 / 0.68 and 0.50 / 0.69 / 0.13: the final evaluation alone was
0.25 and 0.13 in seeds 2 and 4, whose policies had swung away from the cube at their last
evaluation (heading 0.21 and -0.46), so a bar on the final score alone would be loose or
flaky. The best of the second half was 0.78, 0.69, 0.67, 0.71 and 0.69; MIN_SCORE = 0.45 sits
0.22 below the lowest, more than three standard errors of a 30-seed score (~0.06). With the
policy gradient's sign flipped the policy steers away from the cube and the best score stays
at -0.01 (shown once, bench/README.md).

  state_learning_test.py --launcher=build/services/launcher/ivg_cluster [--seed=N] [--keep=DIR]
"""

import os
import shutil
import tempfile
import unittest

import cluster_run

CONFIG = os.path.join(cluster_run.REPO, "configs", "cpu_state.textproto")

# Learner steps of the run (~24 steps/s on the 2-core machine: about 3 minutes).
LEARNER_STEPS = 4000
# Required best normalised score of the evaluations at or after LEARNER_STEPS / 2 (see the
# module docstring for the measured spread).
MIN_SCORE = 0.45
# Evaluations: 30 seeds each, every 1,000 learner steps; the final one after the budget.
EVAL_EPISODES = 30
EVAL_EVERY = 1000
# Hard limit for the whole run; the budget itself is in learner steps.
TIMEOUT_SECONDS = 600

ARGS = None


class StateLearningTest(unittest.TestCase):

    def test_policy_reaches_the_cube_from_state(self):
        work = ARGS.keep or tempfile.mkdtemp(prefix="ivg_state_learning_test_")
        shutil.rmtree(os.path.join(work, "run"), ignore_errors=True)
        returncode, log_path, run_dir = cluster_run.run_cluster(
            ARGS.launcher, CONFIG, work, LEARNER_STEPS, ARGS.seed,
            ["--set", "eval.episodes=%d" % EVAL_EPISODES,
             "--set", "eval.every_learner_steps=%d" % EVAL_EVERY,
             "--set", "eval.write_videos=false"], TIMEOUT_SECONDS)
        self.assertEqual(returncode, 0, "ivg_cluster failed; see " + log_path)
        rows = cluster_run.read_eval_rows(run_dir)
        self.assertIsNotNone(rows, "the evaluator wrote no eval.csv in " + run_dir)
        learned = [row for row in rows if row["policy"] == "learned"]
        for row in learned:
            print("  eval at learner step %5s: return %7.2f, score %s, heading %s" %
                  (row["learner_step"], float(row["return_mean"]), row["normalized_score"],
                   row["target_heading_cosine"]))
        second_half = [row for row in learned if int(row["learner_step"]) >= LEARNER_STEPS // 2]
        self.assertGreaterEqual(len(second_half), 2,
                                "fewer than two evaluations in the second half of the budget")
        self.assertTrue(any(int(row["learner_step"]) >= LEARNER_STEPS for row in second_half),
                        "no evaluation of parameters from step %d or later" % LEARNER_STEPS)
        best = max(float(row["normalized_score"]) for row in second_half)
        print("best normalised score %.3f over steps %s (final %s); needed >= %.2f" %
              (best, [row["learner_step"] for row in second_half],
               second_half[-1]["normalized_score"], MIN_SCORE), flush=True)
        self.assertGreaterEqual(
            best, MIN_SCORE,
            "the agent did not learn Reach-R from state: the best normalised score %.3f of the "
            "evaluations at or after step %d is below %.2f" % (best, LEARNER_STEPS // 2, MIN_SCORE))
        if not ARGS.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    ARGS, ARGV = cluster_run.main(__doc__)
    cluster_run.run_tests(ARGV)
