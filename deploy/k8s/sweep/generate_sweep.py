#!/usr/bin/python3
"""Turns a grid of config overrides into one Kubernetes Job per grid point.

    /usr/bin/python3 deploy/k8s/sweep/generate_sweep.py deploy/k8s/sweep/grids/horizon.json
    kubectl apply -k deploy/k8s/sweep/generated/horizon          # every point at once
    kubectl apply -k deploy/k8s/sweep/generated/horizon/horizon-ih5-s1   # one point

A grid file (JSON) names the sweep, the shipped config every point starts from (a file of
configs/, in the image at /etc/ivg/configs/), the run length, the axes and the seeds:

    {"name": "horizon", "config": "lift_r", "minutes": 600,
     "grid": {"learner.imagination_horizon": [0, 1, 5, 20]},
     "seeds": [1, 2, 3],
     "set": {"learner.kl_lambda": 0.01}}

Algorithms that differ in more than one field (the baselines) are "variants": named sets of
overrides, each optionally on a config file of its own, forming one more axis:

    {"name": "baselines", "config": "lift_r", "minutes": 600,
     "variants": {"ivg5": {"set": {"learner.imagination_horizon": 5}},
                  "svg0": {"config": "svg0"}, "pg": {"config": "pg"}},
     "seeds": [1, 2, 3]}

Every combination of the variants, the axes' values and the seeds is one point: one kustomize overlay of
job-base/ (a Job running the whole cluster with ivg_cluster in one GPU pod) with its own
name prefix, labels and run name. A run's name is <sweep>-<axis abbreviations and values>-s<seed>;
it becomes the config's `name` (so Prometheus and the progress CSV label the run with it)
and its run directory /var/lib/ivg/runs/<sweep>/<run> on the shared runs volume.

Rules the config validation enforces are applied here, so that every point starts:
  * imagination_horizon = 0 (IVG(0)) needs learner.policy_algorithm = POLICY_SVG0: a point
    with N = 0 gets it added, with learner.svg0_model_loss = true (the paper's IVG(0) keeps
    the model loss as an auxiliary signal; configs/svg0.textproto is the model-free SVG(0));
    a point that sets another algorithm with N = 0 is an error.
  * a seed s sets learner.seed = s and actor.seed = 1000 * s (actor i seeds its environment
    with actor.seed + i, so runs with different seeds never share an environment seed).

Writes, under --out (default deploy/k8s/sweep/generated/<name>):
  <run>/kustomization.yaml, <run>/job-patch.yaml   one overlay per point
  kustomization.yaml                               all points, plus the runs volume claim
  points.json                                      run name, config and overrides per point
Standard library only (runs with /usr/bin/python3 on any machine).
"""
import argparse
import itertools
import json
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
JOB_BASE = os.path.join(HERE, "job-base")
RUNS_PVC = os.path.join(HERE, "runs-pvc.yaml")
CONFIGS = os.path.join(HERE, "..", "..", "..", "configs")  # what the image ships in /etc/ivg/configs
HORIZON = "learner.imagination_horizon"
ALGORITHM = "learner.policy_algorithm"
SVG0_MODEL_LOSS = "learner.svg0_model_loss"
# Job names are DNS labels (63 characters); the pods' names append a suffix.
MAX_RUN_NAME = 52


class GridError(Exception):
    pass


def abbreviation(path):
    """learner.imagination_horizon -> 'ih'; learner.kl_lambda -> 'kl'."""
    words = path.split(".")[-1].split("_")
    return "".join(w[0] for w in words) if len(words) > 1 else words[0][:3]


def value_text(value):
    """A config value as it goes after '=' in --set."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def name_part(value):
    """A value as part of a DNS-1123 name: 0.01 -> 0p01, 1e-3 -> 1em3, POLICY_SVG0 -> svg0."""
    text = value_text(value).lower()
    text = re.sub(r"^policy_", "", text)
    text = text.replace(".", "p").replace("-", "m").replace("+", "")
    return re.sub(r"[^a-z0-9]", "", text)


def load_grid(path):
    with open(path) as f:
        try:
            spec = json.load(f)
        except json.JSONDecodeError as e:
            raise GridError("%s: not valid JSON: %s" % (path, e))
    if not isinstance(spec, dict):
        raise GridError("%s: expected a JSON object" % path)
    known = {"name", "description", "config", "minutes", "grid", "seeds", "set", "abbreviations",
             "variants"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise GridError("%s: unknown key(s) %s; expected some of %s" % (path, unknown, sorted(known)))
    name = spec.get("name", "")
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", name or "-"):
        raise GridError("%s: 'name' must be a DNS label (lowercase letters, digits, '-'), got %r"
                        % (path, name))
    grid = spec.get("grid", {})
    if not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values()):
        raise GridError("%s: 'grid' must map config fields to non-empty lists of values" % path)
    if not grid and not spec.get("variants"):
        raise GridError("%s: give a 'grid' of config fields or 'variants' (or both)" % path)
    seeds = spec.get("seeds", [1])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise GridError("%s: 'seeds' must be a non-empty list of integers" % path)
    if not isinstance(spec.get("set", {}), dict):
        raise GridError("%s: 'set' must map config fields to values" % path)
    minutes = spec.get("minutes", 600)
    if not isinstance(minutes, (int, float)) or minutes <= 0:
        raise GridError("%s: 'minutes' must be a positive number" % path)
    variants = spec.get("variants", {})
    if not isinstance(variants, dict):
        raise GridError("%s: 'variants' must map variant names to {config, set}" % path)
    variant_fields = []
    for variant, body in variants.items():
        if not re.fullmatch(r"[a-z0-9]+", variant):
            raise GridError("%s: variant name %r must be lowercase letters and digits" % (path, variant))
        if not isinstance(body, dict) or set(body) - {"config", "set"}:
            raise GridError("%s: variant %r must be an object with 'config' and/or 'set'"
                            % (path, variant))
        if not isinstance(body.get("set", {}), dict):
            raise GridError("%s: variant %r: 'set' must map config fields to values" % (path, variant))
        variant_fields += list(body.get("set", {}))
    for field in list(grid) + list(spec.get("set", {})) + variant_fields:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*", field):
            raise GridError("%s: %r is not a config field path like learner.kl_lambda" % (path, field))
    spec.setdefault("config", "lift_r")
    for config in [spec["config"]] + [body.get("config") for body in variants.values()]:
        if config is not None and not os.path.exists(os.path.join(CONFIGS, config + ".textproto")):
            raise GridError("%s: no config %r in configs/ (expected configs/%s.textproto)"
                            % (path, config, config))
    spec["minutes"] = minutes
    spec["seeds"] = seeds
    return spec


def points(spec):
    """Yields (run name, config, ordered list of 'field=value' overrides) per grid point."""
    axes = list(spec.get("grid", {}).items())
    abbreviations = spec.get("abbreviations", {})
    variants = list(spec.get("variants", {}).items()) or [(None, {})]
    seen = {}
    for (variant, body), values in itertools.product(variants, itertools.product(*[v for _, v in axes])):
        for seed in spec["seeds"]:
            overrides = dict((k, value_text(v)) for k, v in spec.get("set", {}).items())
            overrides.update((k, value_text(v)) for k, v in body.get("set", {}).items())
            config = body.get("config", spec["config"])
            parts = [spec["name"]] + ([variant] if variant else [])
            for (field, _), value in zip(axes, values):
                overrides[field] = value_text(value)
                parts.append(abbreviations.get(field, abbreviation(field)) + name_part(value))
            parts.append("s%d" % seed)
            run = "-".join(parts)
            if overrides.get(HORIZON) == "0":
                if ALGORITHM not in overrides:
                    overrides[ALGORITHM] = "POLICY_SVG0"
                    overrides.setdefault(SVG0_MODEL_LOSS, "true")
                elif overrides[ALGORITHM] != "POLICY_SVG0":
                    raise GridError("point %s: %s = 0 needs %s = POLICY_SVG0, the grid sets %s"
                                    % (run, HORIZON, ALGORITHM, overrides[ALGORITHM]))
            overrides["learner.seed"] = str(seed)
            overrides["actor.seed"] = str(1000 * seed)
            overrides["name"] = run
            if len(run) > MAX_RUN_NAME:
                raise GridError("point %s: run name longer than %d characters; shorten the sweep "
                                "name or give 'abbreviations'" % (run, MAX_RUN_NAME))
            if run in seen:
                raise GridError("points %s and %s have the same run name %s; give 'abbreviations'"
                                % (seen[run], values, run))
            seen[run] = (variant, values)
            yield run, config, ["%s=%s" % item for item in overrides.items()]


def yaml_string(text):
    return json.dumps(text)  # a JSON string is a valid YAML scalar


def write_point(out_dir, spec, run, config, overrides):
    point_dir = os.path.join(out_dir, run)
    os.makedirs(point_dir, exist_ok=True)
    base = os.path.relpath(JOB_BASE, point_dir)
    args = ["ivg_cluster", "--config=/etc/ivg/configs/%s.textproto" % config,
            "--run_dir=/var/lib/ivg/runs/%s/%s" % (spec["name"], run),
            "--minutes=%g" % spec["minutes"], "--progress_seconds=60"]
    args += ["--set=%s" % o for o in overrides]
    with open(os.path.join(point_dir, "kustomization.yaml"), "w") as f:
        f.write("# Generated by deploy/k8s/sweep/generate_sweep.py: sweep %s, run %s.\n"
                % (spec["name"], run))
        f.write("namePrefix: %s-\n" % run)
        f.write("commonLabels:\n  ivg.sweep: %s\n  ivg.run: %s\n" % (spec["name"], run))
        # `bases` (not `resources`) so that kustomize v2 (kubectl 1.14-1.20) renders it too.
        f.write("bases:\n  - %s\n" % base)
        f.write("patchesStrategicMerge:\n  - job-patch.yaml\n")
    with open(os.path.join(point_dir, "job-patch.yaml"), "w") as f:
        f.write("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: ivg-experiment\n")
        f.write("spec:\n  template:\n    spec:\n      containers:\n        - name: experiment\n")
        f.write("          args:\n")
        for arg in args:
            f.write("            - %s\n" % yaml_string(arg))
    return args


def generate(spec, out_dir):
    all_points = list(points(spec))  # validates every point before writing anything
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        # Replace an earlier generation of a sweep, never a folder of something else.
        if not os.path.exists(os.path.join(out_dir, "points.json")):
            raise GridError("%s exists and holds no generated sweep (points.json); "
                            "choose another --out" % out_dir)
        shutil.rmtree(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    records = []
    for run, config, overrides in all_points:
        args = write_point(out_dir, spec, run, config, overrides)
        records.append({"run": run, "config": config, "overrides": overrides, "args": args})
    shutil.copy(RUNS_PVC, os.path.join(out_dir, "runs-pvc.yaml"))
    with open(os.path.join(out_dir, "kustomization.yaml"), "w") as f:
        f.write("# Generated by deploy/k8s/sweep/generate_sweep.py: every point of sweep %s.\n"
                % spec["name"])
        f.write("resources:\n  - runs-pvc.yaml\nbases:\n")
        for record in records:
            f.write("  - %s\n" % record["run"])
    with open(os.path.join(out_dir, "points.json"), "w") as f:
        json.dump(records, f, indent=2)
        f.write("\n")
    return records


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("grid", help="grid file (JSON), e.g. deploy/k8s/sweep/grids/horizon.json")
    parser.add_argument("--out", help="output folder; default deploy/k8s/sweep/generated/<name>")
    options = parser.parse_args(argv)
    try:
        spec = load_grid(options.grid)
        out_dir = options.out or os.path.join(HERE, "generated", spec["name"])
        records = generate(spec, out_dir)
    except (GridError, OSError) as e:
        print("generate_sweep: %s" % e, file=sys.stderr)
        return 2
    print("generate_sweep: %d runs of sweep %s in %s" % (len(records), spec["name"], out_dir))
    for record in records:
        print("  %s" % record["run"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
