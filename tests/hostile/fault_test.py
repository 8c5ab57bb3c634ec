#!/usr/bin/env python3
"""kill -9 of every process kind in turn in one running local cluster.

Starts `ivg_cluster` on configs/smoke.textproto (replay large enough that nothing is evicted
during the test), then kills with SIGKILL, one after the other: an actor, a replay server,
the redis-server of the other shard, a learner and the parameter server. After each kill
the launcher must bring the process back and the cluster must learn on. Meanwhile a
watcher asks every shard for its item count twice a second: an acknowledged item is never
lost, so no shard's count may ever fall below what it reported before. After the learner's
kill both ranks must resume from the same checkpoint step; after the parameter server's, it
must serve at least the version it served before.

  fault_test.py --launcher=build/services/launcher/ivg_cluster --build=build
"""

import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testing"))
import local_cluster  # noqa: E402

ARGS = None
RECOVERY_SECONDS = 180


def processes():
    """(pid, parent pid, argv) of every process."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
            with open("/proc/%s/stat" % entry) as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        out.append((int(entry), parent, argv))
    return out


class ShardWatcher(threading.Thread):
    """Polls every shard's item count; records any count below an earlier one."""

    def __init__(self, stubs):
        super().__init__(daemon=True)
        self.stubs = stubs
        self.highest = [0] * len(stubs)
        self.drops = []
        self.polls = 0
        self.stop = threading.Event()

    def count(self, shard):
        info = self.stubs[shard].ServerInfo(replay_pb2.ServerInfoRequest(), timeout=3)
        return sum(t.num_items for t in info.tables)

    def run(self):
        while not self.stop.is_set():
            for shard in range(len(self.stubs)):
                try:
                    items = self.count(shard)
                except grpc.RpcError:
                    continue  # restarting: no answer is not a lost item
                self.polls += 1
                if items < self.highest[shard]:
                    self.drops.append((shard, self.highest[shard], items))
                self.highest[shard] = max(self.highest[shard], items)
            time.sleep(0.5)


class KillNineOfEveryProcessKind(unittest.TestCase):

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="ivg_faults_")
        self.cluster = local_cluster.Cluster(
            ARGS.launcher, self.work, "configs/smoke.textproto",
            ["--set", "replay.max_size=1000000"])
        self.addCleanup(self.cleanup)
        self.cluster.wait_until_learner_step(4)
        self.run_dir = os.path.abspath(self.cluster.run_dir)
        config = self.cluster.config()
        self.params = params_pb2_grpc.ParameterServiceStub(
            grpc.insecure_channel(config.cluster.param_server_address))
        self.watcher = ShardWatcher([replay_pb2_grpc.ReplayServiceStub(grpc.insecure_channel(a))
                                     for a in config.replay.shard_addresses])
        self.watcher.start()

    def cleanup(self):
        if hasattr(self, "watcher"):
            self.watcher.stop.set()
        self.cluster.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    def pid_of(self, binary, flag=None):
        """The pid of this run's process running `binary` (with argument `flag`), or None."""
        for pid, _, argv in processes():
            if argv and os.path.basename(argv[0]) == binary and \
                    any(self.run_dir in a for a in argv) and (flag is None or flag in argv):
                return pid
        return None

    def redis_of(self, replay_pid):
        for pid, parent, argv in processes():
            if parent == replay_pid and argv and argv[0].startswith("redis-server"):
                return pid
        return None

    def fetch_version(self):
        try:
            return self.params.Fetch(params_pb2.FetchRequest(have_version=1 << 60),
                                     timeout=5).version
        except grpc.RpcError:
            return -1

    def learner_log(self, rank):
        return os.path.join(self.run_dir, "logs", "learner-%d.log" % rank)

    def resumed_steps(self, rank):
        """The step each start of this rank went on from, after taking rank 0's state (the
        checkpoint files of the two ranks can differ by one checkpoint when a rank dies
        between the two writes; the step the pair trains on from may not)."""
        with open(self.learner_log(rank), errors="replace") as f:
            return [int(s) for s in re.findall(r"Training continues from step (\d+)", f.read())]

    def wait(self, what, condition, timeout=RECOVERY_SECONDS):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.assertIsNone(self.cluster.process.poll(), "ivg_cluster exited")
            if condition():
                return
            time.sleep(0.5)
        self.fail("%s within %d s; last progress: %s" % (what, timeout, self.cluster.progress()[-1:]))

    def all_up(self):
        last = self.cluster.progress()[-1]
        running, planned = last.split("up ")[1].split()[0].split("/")
        return running == planned

    def kill_and_recover(self, name, pid_of):
        pid = pid_of()
        self.assertIsNotNone(pid, "no %s process" % name)
        step = self.cluster.learner_step()
        os.kill(pid, signal.SIGKILL)
        self.wait("%s restarted" % name, lambda: pid_of() not in (None, pid) and self.all_up())
        self.wait("the learners step on after the %s kill" % name,
                  lambda: self.cluster.learner_step() >= step + 2)

    def test_every_kind_recovers_and_nothing_acknowledged_is_lost(self):
        try:
            self.kill_every_kind()
        except Exception:
            print(self.cluster.output()[-4000:])
            # The run directory goes with the cleanup: keep what says why a rank did not resume.
            for rank in (0, 1):
                path = self.learner_log(rank)
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        print("--- %s (last 3000 characters)\n%s" % (path, f.read()[-3000:]))
            raise

    def kill_every_kind(self):
        self.wait("the watcher's first counts", lambda: self.watcher.polls >= 2 * len(self.watcher.stubs))
        before = list(self.watcher.highest)
        self.kill_and_recover("actor", lambda: self.pid_of("ivg_actor", "--actor_id=3"))
        self.kill_and_recover("replay server", lambda: self.pid_of("ivg_replay_server", "--shard=0"))
        self.kill_and_recover(
            "redis-server", lambda: self.redis_of(self.pid_of("ivg_replay_server", "--shard=1")))

        resumed = (len(self.resumed_steps(0)), len(self.resumed_steps(1)))
        self.kill_and_recover("learner", lambda: self.pid_of("ivg_learner", "--rank=1"))
        self.wait("both ranks resumed", lambda: len(self.resumed_steps(0)) > resumed[0] and
                  len(self.resumed_steps(1)) > resumed[1])
        self.assertEqual(self.resumed_steps(0)[-1], self.resumed_steps(1)[-1],
                         "the ranks resumed from different steps")

        version = self.fetch_version()
        self.assertGreater(version, 0)
        self.kill_and_recover("parameter server", lambda: self.pid_of("ivg_param_server"))
        self.wait("the parameter server serves its stored version",
                  lambda: self.fetch_version() >= version)

        time.sleep(2)  # a few more polls after the last recovery
        self.watcher.stop.set()
        self.watcher.join(10)
        self.assertGreater(self.watcher.polls, 20)
        self.assertEqual(self.watcher.drops, [],
                         "a shard reported fewer items than before: (shard, highest, then)")
        for shard, (was, now) in enumerate(zip(before, self.watcher.highest)):
            self.assertGreater(now, was, "shard %d took no insert after the kills" % shard)
        print("5 kills (actor, replay server, redis-server, learner, parameter server); items "
              "per shard %s -> %s, never fewer; %d polls; learners resumed at step %d"
              % (before, self.watcher.highest, self.watcher.polls, self.resumed_steps(0)[-1]))


def main():
    global ARGS, grpc, params_pb2, params_pb2_grpc, replay_pb2, replay_pb2_grpc
    ARGS, argv = local_cluster.parse_test_args(__doc__)
    import grpc
    from proto import params_pb2, params_pb2_grpc, replay_pb2, replay_pb2_grpc
    unittest.main(argv=argv, verbosity=2)


if __name__ == "__main__":
    main()
