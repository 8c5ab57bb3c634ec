#!/usr/bin/env python3
"""Query the live IVG policy from Python (Debian's python3-grpcio).

The stubs are generated from proto/ at build time into <build>/python:

    /usr/bin/python3 examples/python/act_client.py --address 127.0.0.1:50100 \
        --image-size 64 --frames 3

Without an episode file the observation is a flat grey image with zero proprioception; pass
--episode FILE (a binary ivg.Episode, e.g. saved by a test) to use real frames.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", os.environ.get("IVG_BUILD_DIR", "build"), "python"))

import grpc  # noqa: E402  (after the path set-up)
from proto import episode_pb2, policy_pb2, policy_pb2_grpc  # noqa: E402


def build_request(args):
    request = policy_pb2.ActRequest(
        image_height=args.image_size, image_width=args.image_size,
        task_id=args.task_id, deterministic=args.deterministic, seed=args.seed)
    if args.episode:
        episode = episode_pb2.Episode()
        with open(args.episode, "rb") as f:
            episode.ParseFromString(f.read())
        for step in episode.steps[: args.frames]:
            request.history.add(image=step.image, proprio=step.proprio)
    else:
        image = bytes([64]) * (6 * args.image_size * args.image_size)
        for _ in range(args.frames):
            request.history.add(image=image, proprio=[0.0] * 17)
    return request


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1:50100")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--task-id", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--deterministic", action="store_true")
    parser.add_argument("--episode", help="binary ivg.Episode file")
    parser.add_argument("--deadline", type=float, default=5.0, help="seconds")
    args = parser.parse_args()

    channel = grpc.insecure_channel(
        args.address, options=[("grpc.max_receive_message_length", 64 << 20)])
    stub = policy_pb2_grpc.PolicyServiceStub(channel)
    try:
        response = stub.Act(build_request(args), timeout=args.deadline)
    except grpc.RpcError as error:
        print(f"Act failed: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    print(f"param_version: {response.param_version}")
    print(f"action: {list(response.action)}")
    print(f"mean: {list(response.mean)}")
    print(f"log_std: {list(response.log_std)}")
    print(f"log_prob: {response.log_prob}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
