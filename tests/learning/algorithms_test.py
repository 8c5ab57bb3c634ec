#!/usr/bin/env python3
"""Every policy algorithm trains end to end in a local cluster.

For each shipped algorithm config (configs/svg0, ivg0, pg, cem, and IVG on cpu_small), starts
`ivg_cluster --config=configs/<name>.textproto` with the smoke profile's sizes (so a CPU
steps in seconds; the algorithm and its switches are the config's own), waits for both
learners to pass a few steps, and checks from outside, as a user would: the parameter
server holds a published version, Act answers with a finite action of the right size, the
learner labels itself with the algorithm on /metrics, and the algorithm's own loss moved
(the Q critic for SVG(0) and IVG(0); the model's reconstruction for everything but SVG(0)).
For CEM, Act is answered by the planner on the published model.

  algorithms_test.py --launcher=build/services/launcher/ivg_cluster --build=build
"""

import math
import os
import re
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testing"))
import local_cluster  # noqa: E402

ARGS = None

# The smoke profile's sizes (configs/smoke.textproto) over whichever config is tested.
SMOKE_SIZES = [
    "env.episode_steps=24", "model.latent_size=16", "model.encoder_channels=4",
    "model.encoder_hidden=32", "model.transition_hidden=32", "model.decoder_channels=4",
    "model.decoder_hidden=32", "model.head_hidden=32", "learner.batch_size_per_learner=4",
    "learner.publish_every_steps=2", "learner.use_cuda_if_available=false",
    "learner.reconstruction_every_steps=0", "replay.max_size=2000",
    "replay.min_size_to_sample=8", "replay.replay_ratio=0", "eval.enabled=false",
]

STEPS = 4


def loss(metrics, term):
    match = re.search(r'^ivg_learner_loss\{term="%s"\} (\S+)$' % term, metrics, re.M)
    return float(match.group(1)) if match else None


class AlgorithmsTrainEndToEnd(unittest.TestCase):

    def run_algorithm(self, config, label, trains_q, trains_model):
        work = tempfile.mkdtemp(prefix="ivg_algorithm_")
        args = ["--actors=2", "--shards=1", "--learners=2"]
        for override in SMOKE_SIZES:
            args += ["--set", override]
        cluster = local_cluster.Cluster(ARGS.launcher, work, config, args)
        try:
            cluster.wait_until_learner_step(STEPS)
            c = cluster.config()
            channel = grpc.insecure_channel(c.cluster.param_server_address)
            version = params_pb2_grpc.ParameterServiceStub(channel).Fetch(
                params_pb2.FetchRequest(have_version=1 << 60), timeout=10).version
            self.assertGreater(version, 0, "%s: nothing published" % config)

            size = c.env.image_size
            request = policy_pb2.ActRequest(image_height=size, image_width=size)
            request.history.add(image=bytes([64]) * (6 * size * size), proprio=[0.1] * 17)
            response = policy_pb2_grpc.PolicyServiceStub(channel).Act(request, timeout=10)
            self.assertEqual(len(response.action), 5, config)
            self.assertTrue(all(math.isfinite(a) for a in response.action), response.action)
            self.assertGreater(response.param_version, 0, config)

            metrics = cluster.metrics_text("learner-0")
            self.assertIn('ivg_learner_algorithm{algorithm="%s"} 1' % label, metrics)
            q, reconstruction = loss(metrics, "q"), loss(metrics, "reconstruction_image")
            self.assertIsNotNone(q, metrics[:2000])
            self.assertEqual(q > 0, trains_q, "%s: q loss %s" % (config, q))
            self.assertEqual(reconstruction > 0, trains_model,
                             "%s: reconstruction loss %s" % (config, reconstruction))
            channel.close()
        except Exception:
            print(cluster.output()[-3000:])
            raise
        finally:
            cluster.stop()
            shutil.rmtree(work, ignore_errors=True)

    def test_model_free_svg0(self):
        self.run_algorithm("configs/svg0.textproto", "SVG(0)", trains_q=True, trains_model=False)

    def test_ivg0_svg0_with_the_model_loss(self):
        self.run_algorithm("configs/ivg0.textproto", "IVG(0)", trains_q=True, trains_model=True)

    def test_likelihood_ratio_pg(self):
        self.run_algorithm("configs/pg.textproto", "PG(5)", trains_q=False, trains_model=True)

    def test_cem_planning_on_the_learned_model(self):
        self.run_algorithm("configs/cem.textproto", "CEM(5)", trains_q=False, trains_model=True)

    def test_ivg(self):
        self.run_algorithm("configs/cpu_small.textproto", "IVG(5)", trains_q=False,
                           trains_model=True)


def main():
    global ARGS, grpc, params_pb2, params_pb2_grpc, policy_pb2, policy_pb2_grpc
    ARGS, argv = local_cluster.parse_test_args(__doc__)
    import grpc
    from proto import params_pb2, params_pb2_grpc, policy_pb2, policy_pb2_grpc
    unittest.main(argv=argv, verbosity=2)


if __name__ == "__main__":
    main()
