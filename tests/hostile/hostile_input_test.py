#!/usr/bin/env python3
"""Malformed and hostile requests from an independent client against a running local cluster.

Starts `ivg_cluster` on configs/smoke.textproto (every service a separate process, as a user
starts them), then sends each case below with Debian's python3-grpcio, the way an outside
client would: garbage bytes, empty and huge fields, ids out of range, non-finite floats,
absurd sizes, wrong shapes, a wrong or a right token with a bad payload. Each case must be
refused (any non-OK status; the expected codes are listed per case), the service must answer
a valid request right after it, and at the end every process must still be up, none
restarted, and the learners must have kept stepping.

  hostile_input_test.py --launcher=build/services/launcher/ivg_cluster --build=build
"""

import math
import os
import shutil
import struct
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testing"))
import local_cluster  # noqa: E402

ARGS = None

OK = "OK"


def load_protos(build):
    sys.path.insert(0, os.path.join(build, "python"))
    global grpc, text_format, config_pb2, episode_pb2, params_pb2, params_pb2_grpc
    global policy_pb2, policy_pb2_grpc, replay_pb2, replay_pb2_grpc, tensor_pb2
    import grpc  # noqa: F401
    from google.protobuf import text_format  # noqa: F401
    from proto import (config_pb2, episode_pb2, params_pb2, params_pb2_grpc,  # noqa: F401
                       policy_pb2, policy_pb2_grpc, replay_pb2, replay_pb2_grpc, tensor_pb2)


def code_of(call):
    try:
        call()
        return OK
    except grpc.RpcError as error:  # noqa: F821
        return error.code().name


def valid_episode(config, episode_id):
    size = config.env.image_size
    steps = config.env.episode_steps
    episode = episode_pb2.Episode(actor_id=0, episode_id=episode_id, task_id=0,  # noqa: F821
                                  image_height=size, image_width=size)
    for _ in range(steps):
        episode.steps.add(image=bytes(6 * size * size), proprio=[0.0] * 17,
                          action=[0.0] * 5, rewards=[0.0], behaviour_log_prob=-4.0)
    return episode


def float_tensor(shape, value=0.5):
    count = 1
    for d in shape:
        count *= d
    return tensor_pb2.Tensor(dtype=tensor_pb2.DTYPE_FLOAT32, shape=shape,  # noqa: F821
                             data=struct.pack("<%df" % count, *([value] * count)))


class HostileInputTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="ivg_hostile_")
        cls.cluster = local_cluster.Cluster(ARGS.launcher, cls.work, "configs/smoke.textproto")
        cls.cluster.wait_until_learner_step(2)
        cls.config = cls.cluster.config()
        limit = 512 << 20
        options = [("grpc.max_send_message_length", limit),
                   ("grpc.max_receive_message_length", limit)]
        cls.replay_channel = grpc.insecure_channel(  # noqa: F821
            cls.config.replay.shard_addresses[0], options=options)
        cls.param_channel = grpc.insecure_channel(  # noqa: F821
            cls.config.cluster.param_server_address, options=options)
        cls.replay = replay_pb2_grpc.ReplayServiceStub(cls.replay_channel)  # noqa: F821
        cls.params = params_pb2_grpc.ParameterServiceStub(cls.param_channel)  # noqa: F821
        cls.policy = policy_pb2_grpc.PolicyServiceStub(cls.param_channel)  # noqa: F821
        cls.step_before = cls.cluster.learner_step()
        cls.results = []

    @classmethod
    def tearDownClass(cls):
        log = cls.cluster.stop()
        if "was restarted" in log:
            print(log[-2000:])
        shutil.rmtree(cls.work, ignore_errors=True)

    # The services still answer a valid request.
    def assert_serving(self, case):
        info = replay_pb2.ServerInfoRequest()  # noqa: F821
        self.assertEqual(code_of(lambda: self.replay.ServerInfo(info, timeout=10)), OK, case)
        fetch = params_pb2.FetchRequest(have_version=-1)  # noqa: F821
        self.assertEqual(code_of(lambda: self.params.Fetch(fetch, timeout=10)), OK, case)

    def check(self, case, call, allowed):
        code = code_of(call)
        self.results.append((case, code))
        self.assertIn(code, allowed, "%s: answered %s" % (case, code))
        self.assert_serving(case)

    def raw(self, channel, method, payload):
        call = channel.unary_unary(method, request_serializer=lambda b: b,
                                   response_deserializer=lambda b: b)
        return lambda: call(payload, timeout=10)

    def test_a_malformed_input_battery_refuses_every_case_and_keeps_the_cluster_learning(self):
        c = self.config
        bad = {"INVALID_ARGUMENT"}
        too_big = {"RESOURCE_EXHAUSTED"}
        insert = lambda e, table="": (  # noqa: E731
            lambda: self.replay.InsertEpisode(
                replay_pb2.InsertEpisodeRequest(table=table, episode=e), timeout=30))  # noqa: F821

        # A valid episode is accepted: the battery's baseline.
        self.check("valid episode", insert(valid_episode(c, 1)), {OK})

        e = valid_episode(c, 2); e.ClearField("steps")
        self.check("insert: no steps", insert(e), bad)
        e = valid_episode(c, 3); e.image_height = 0
        self.check("insert: image height 0", insert(e), bad)
        e = valid_episode(c, 4); e.image_height = e.image_width = 1 << 30
        self.check("insert: image 2^30 x 2^30", insert(e), bad)
        e = valid_episode(c, 5); e.steps[3].image = b"\x01" * 100
        self.check("insert: short image bytes", insert(e), bad)
        e = valid_episode(c, 6); e.steps[2].rewards[0] = math.nan
        self.check("insert: NaN reward", insert(e), bad)
        e = valid_episode(c, 7); e.steps[1].proprio[4] = math.inf
        self.check("insert: Inf proprio", insert(e), bad)
        e = valid_episode(c, 8); e.steps[0].action[0] = -math.inf
        self.check("insert: -Inf action", insert(e), bad)
        e = valid_episode(c, 9); e.steps[5].behaviour_log_prob = math.nan
        self.check("insert: NaN log-prob", insert(e), bad)
        e = valid_episode(c, 10); e.task_id = 1 << 30
        self.check("insert: task id 2^30", insert(e), bad)
        e = valid_episode(c, 11); e.task_id = -1
        self.check("insert: task id -1", insert(e), bad)
        e = valid_episode(c, 12); e.actor_id = -7
        self.check("insert: actor id -7", insert(e), bad)
        e = valid_episode(c, 13); del e.steps[4].proprio[:]
        self.check("insert: empty proprio", insert(e), bad)
        e = valid_episode(c, 14); e.steps[4].action.extend([0.0] * 1000)
        self.check("insert: 1005 actions", insert(e), bad)
        e = valid_episode(c, 15); e.steps[6].rewards.extend([0.0] * 100000)
        self.check("insert: 100001 rewards in one step", insert(e), bad)
        self.check("insert: unknown table", insert(valid_episode(c, 16), "no-such-table"),
                   {"NOT_FOUND"})
        e = valid_episode(c, 17); e.steps[0].image = os.urandom(70 << 20)
        self.check("insert: 70 MB image", insert(e), too_big | bad)
        self.check("insert: garbage bytes",
                   self.raw(self.replay_channel, "/ivg.ReplayService/InsertEpisode",
                            os.urandom(4096)), {"INTERNAL", "INVALID_ARGUMENT"})
        self.check("insert: empty request",
                   lambda: self.replay.InsertEpisode(replay_pb2.InsertEpisodeRequest(),  # noqa: F821
                                                     timeout=10), bad)

        sample = lambda n, compressed=False, table="": (  # noqa: E731
            lambda: self.replay.Sample(replay_pb2.SampleRequest(  # noqa: F821
                batch_size=n, compressed=compressed, table=table), timeout=10))
        self.check("sample: batch 0", sample(0), bad)
        self.check("sample: batch -5", sample(-5), bad)
        self.check("sample: batch 2^31-1", sample((1 << 31) - 1), bad)
        self.check("sample: batch 4096 decoded", sample(4096), too_big)
        self.check("sample: unknown table", sample(2, table="x" * 10000), {"NOT_FOUND"})
        self.check("sample: garbage bytes",
                   self.raw(self.replay_channel, "/ivg.ReplayService/Sample", b"\xff" * 64),
                   {"INTERNAL", "INVALID_ARGUMENT"})

        token = c.cluster.publish_token
        publish = lambda r: (lambda: self.params.Publish(r, timeout=30))  # noqa: E731

        def request(version=10 ** 6, token=token, tensors=None):
            r = params_pb2.PublishRequest(token=token, version=version,  # noqa: F821
                                          learner_step=version)
            for name, tensor in (tensors or [("encoder.x", float_tensor([4]))]):
                r.actor_params.tensors.add(name=name, tensor=tensor)
            return r

        self.check("publish: wrong token", publish(request(token="guess")), {"PERMISSION_DENIED"})
        self.check("publish: empty token", publish(request(token="")), {"PERMISSION_DENIED"})
        self.check("publish: no tensors", publish(params_pb2.PublishRequest(  # noqa: F821
            token=token, version=10 ** 6)), bad)
        self.check("publish: NaN tensor",
                   publish(request(tensors=[("encoder.x", float_tensor([3], math.nan))])), bad)
        self.check("publish: duplicate names",
                   publish(request(tensors=[("a", float_tensor([1])), ("a", float_tensor([1]))])),
                   bad)
        self.check("publish: tensors of no configured network", publish(request()), bad)
        self.check("publish: version 2^63-1",
                   publish(request(version=(1 << 63) - 1)), bad)
        self.check("publish: version -5", publish(request(version=-5)), bad | {"FAILED_PRECONDITION"})
        self.check("publish: dtype 99",
                   publish(request(tensors=[("encoder.x", tensor_pb2.Tensor(  # noqa: F821
                       dtype=99, shape=[1], data=b"\0" * 4))])), bad)
        self.check("publish: negative dimension",
                   publish(request(tensors=[("encoder.x", tensor_pb2.Tensor(  # noqa: F821
                       dtype=tensor_pb2.DTYPE_FLOAT32, shape=[-1, 4], data=b"\0" * 16))])),  # noqa: F821
                   bad)
        self.check("publish: shape product overflows int64",
                   publish(request(tensors=[("encoder.x", tensor_pb2.Tensor(  # noqa: F821
                       dtype=tensor_pb2.DTYPE_FLOAT32, shape=[1 << 62, 1 << 62],  # noqa: F821
                       data=b"\0" * 16))])), bad)
        # Far above twice the configured networks' Publish (a few MB for smoke sizes).
        self.check("publish: 64 MB request",
                   publish(request(tensors=[("encoder.x", tensor_pb2.Tensor(  # noqa: F821
                       dtype=tensor_pb2.DTYPE_UINT8, shape=[64 << 20],  # noqa: F821
                       data=b"\0" * (64 << 20)))])), too_big | bad)
        self.check("publish: garbage bytes",
                   self.raw(self.param_channel, "/ivg.ParameterService/Publish", os.urandom(999)),
                   {"INTERNAL", "INVALID_ARGUMENT", "PERMISSION_DENIED"})

        self.check("fetch: group 99", lambda: self.params.Fetch(params_pb2.FetchRequest(  # noqa: F821
            have_version=-(1 << 63), group=99), timeout=10), {OK} | bad)

        size = c.env.image_size

        def act(frames=1, image_size=size, image=None, proprio=None, task_id=0):
            r = policy_pb2.ActRequest(image_height=image_size, image_width=image_size,  # noqa: F821
                                      task_id=task_id)
            for _ in range(frames):
                r.history.add(image=image if image is not None else bytes(6 * size * size),
                              proprio=proprio if proprio is not None else [0.0] * 17)
            return lambda: self.policy.Act(r, timeout=10)

        self.check("act: a valid request", act(), {OK})
        self.check("act: image size 0", act(image_size=0), bad)
        self.check("act: image size 2^30", act(image_size=1 << 30), bad)
        self.check("act: no frames", act(frames=0), bad)
        self.check("act: 1000 frames", act(frames=1000), bad | too_big)
        self.check("act: short image", act(image=b"\0" * 10), bad)
        self.check("act: NaN proprio", act(proprio=[math.nan] * 17), bad)
        self.check("act: 100000 proprio floats", act(proprio=[0.0] * 100000), bad)
        self.check("act: task id 2^30", act(task_id=1 << 30), bad)
        self.check("act: task id -3", act(task_id=-3), bad)
        self.check("act: garbage bytes",
                   self.raw(self.param_channel, "/ivg.PolicyService/Act", os.urandom(512)),
                   {"INTERNAL", "INVALID_ARGUMENT"})

        cases = len(self.results)
        print("%d cases, every one refused or handled as listed:" % cases)
        for case, code in self.results:
            print("  %-45s %s" % (case, code))
        self.assertGreaterEqual(cases, 30)

        # The cluster kept learning through it: the learners stepped on, nothing restarted.
        deadline = time.time() + 60
        while time.time() < deadline and self.cluster.learner_step() <= self.step_before + 2:
            time.sleep(1)
        self.assertGreater(self.cluster.learner_step(), self.step_before + 2,
                           "the learners stopped stepping")
        last = self.cluster.progress()[-1]
        up = last.split("up ")[1].split()[0]
        running, planned = up.split("/")
        self.assertEqual(running, planned, "a process is down: " + last)
        self.assertIsNone(self.cluster.process.poll(), "ivg_cluster exited")


def main():
    global ARGS
    ARGS, argv = local_cluster.parse_test_args(__doc__)
    load_protos(ARGS.build)
    unittest.main(argv=argv, verbosity=2)


if __name__ == "__main__":
    main()
