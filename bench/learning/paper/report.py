#!/usr/bin/env python3
"""The table and plot of one experiment of bench/learning/paper/ over its arms and seeds.

  python3 bench/learning/paper/report.py EXPERIMENT SEEDS ARMS_FILE

Reads bench/learning/results/EXPERIMENT_<arm>_s<seed>_{eval,final_eval}.csv (written by
bench/learning/run.sh) and writes, next to them:
  EXPERIMENT_table.csv   per arm: seeds found, the final evaluation (100 seeds, normalised:
                         (learned - random) / (scripted - random)) as mean, spread (sample
                         standard deviation over seeds), min and max; the env steps at which
                         the periodic evaluation first reached 0.5 normalised (median over the
                         seeds that reached it, and how many did); learner steps and env steps
                         at the end (means)
  EXPERIMENT.png         normalised periodic evaluation against env steps and against wall
                         minutes: per arm the mean over seeds at each evaluation, with the
                         seeds' min and max as bars; random = 0 and scripted = 1 as lines
and prints the table as Markdown. A ranking is only as good as the spread: two arms whose
[min, max] of the final score overlap are not separated by these seeds.
"""
import csv
import os
import statistics
import subprocess
import sys
import tempfile

REACHED = 0.5


def arms(path):
    out = []
    with open(path) as f:
        for line in f:
            words = line.split()
            if words and not words[0].startswith("#"):
                out.append(words[0])
    return out


def rows(path):
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def learned(rows_):
    return [r for r in rows_ if r["policy"] == "learned" and number(r["normalized_score"]) is not None]


def summarise(results, experiment, arm, seeds):
    finals, reach_steps, not_reached, learner_steps, env_steps, curves = [], [], 0, [], [], []
    for seed in range(1, seeds + 1):
        stem = os.path.join(results, f"{experiment}_{arm}_s{seed}")
        periodic = learned(rows(stem + "_eval.csv"))
        final = learned(rows(stem + "_final_eval.csv"))
        if not periodic:
            continue
        curves.append([(number(r["env_steps"]), number(r["wall_seconds"]) / 60,
                        number(r["normalized_score"])) for r in periodic])
        first = next((r for r in periodic if number(r["normalized_score"]) >= REACHED), None)
        if first is None:
            not_reached += 1
        else:
            reach_steps.append(number(first["env_steps"]))
        learner_steps.append(number(periodic[-1]["learner_step"]))
        env_steps.append(number(periodic[-1]["env_steps"]))
        if final:
            finals.append(number(final[-1]["normalized_score"]))
    if not curves:
        return None, []

    def fmt(v, digits=3):
        return "" if v is None else f"{v:.{digits}f}"

    row = {
        "arm": arm,
        "seeds": len(curves),
        "final_mean": fmt(statistics.mean(finals)) if finals else "",
        "final_std": fmt(statistics.stdev(finals)) if len(finals) > 1 else "",
        "final_min": fmt(min(finals)) if finals else "",
        "final_max": fmt(max(finals)) if finals else "",
        "finals": " ".join(f"{v:.3f}" for v in finals),
        "env_steps_to_0.5": fmt(statistics.median(reach_steps), 0) if reach_steps else "",
        "reached_0.5": f"{len(reach_steps)}/{len(curves)}",
        "learner_steps": fmt(statistics.mean(learner_steps), 0),
        "env_steps": fmt(statistics.mean(env_steps), 0),
    }
    return row, curves


def plot(results, experiment, curves_by_arm):
    data = tempfile.mkdtemp()
    series_env, series_wall = [], []
    for arm, curves in curves_by_arm.items():
        path = os.path.join(data, arm)
        with open(path, "w") as f:
            for k in range(max(len(c) for c in curves)):
                points = [c[k] for c in curves if k < len(c)]
                env = [p[0] for p in points if p[0] is not None and p[0] >= 0]
                scores = [p[2] for p in points]
                f.write(f"{statistics.mean(env) if env else -1} "
                        f"{statistics.mean(p[1] for p in points)} {statistics.mean(scores)} "
                        f"{min(scores)} {max(scores)}\n")
        series_env.append(f"'{path}' using 1:3:4:5 with yerrorlines title '{arm}'")
        series_wall.append(f"'{path}' using 2:3:4:5 with yerrorlines title '{arm}'")
    out = os.path.join(results, f"{experiment}.png")
    script = f"""set terminal pngcairo size 1400,560 noenhanced
set output '{out}'
set multiplot layout 1,2 title '{experiment}: normalised deterministic evaluation (mean over seeds, bars min..max)'
set key bottom right
set ylabel 'normalised score'
set yrange [-0.2:1.15]
set xlabel 'env steps'
plot {", ".join(series_env)}, 0 with lines dashtype 2 lc rgb 'gray' title 'random', 1 with lines dashtype 2 lc rgb 'black' title 'scripted'
set xlabel 'wall minutes'
plot {", ".join(series_wall)}, 0 with lines dashtype 2 lc rgb 'gray' title 'random', 1 with lines dashtype 2 lc rgb 'black' title 'scripted'
unset multiplot
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
        print(f"plot: {out}")
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"report.py: no plot ({e}; apt-get install gnuplot-nox)", file=sys.stderr)


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    experiment, seeds, arms_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    # IVG_PAPER_RESULTS: another results folder (the test's).
    results = os.environ.get("IVG_PAPER_RESULTS") or os.path.normpath(
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "results"))
    table, curves_by_arm = [], {}
    for arm in arms(arms_file):
        row, curves = summarise(results, experiment, arm, seeds)
        if row:
            table.append(row)
            curves_by_arm[arm] = curves
    if not table:
        print(f"report.py: no results for {experiment} in {results}", file=sys.stderr)
        return 1
    path = os.path.join(results, f"{experiment}_table.csv")
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    print("| " + " | ".join(table[0]) + " |")
    print("|" + "---|" * len(table[0]))
    for row in table:
        print("| " + " | ".join(str(v) for v in row.values()) + " |")
    print(f"table: {path}")
    plot(results, experiment, curves_by_arm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
