#!/usr/bin/env python3
"""Times facerestore and the official PyTorch code on the same inputs, alternating process by process,
so that both see the same load on a shared machine; prints the median of each and their ratio.

Every round runs, for each case, `facerestore bench ... --json` once per --precision given and
`scripts/pytorch_bench.py ... --json` once (each process: one warm-up, then --runs timed runs).

    ~/torchbench/bin/python scripts/make_bench_photo.py      # /tmp/photo_1000x750.jpg
    ~/torchbench/bin/python scripts/side_by_side.py --official ~/CodeFormer --rounds 3 \\
        realesrgan-512 realesrgan-1024 pipeline-background
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = {
    # name: (facerestore bench arguments, pytorch_bench.py arguments)
    "realesrgan-512": (["realesrgan", "--size", "512"], ["realesrgan", "--realesrgan-size", "512"]),
    "realesrgan-1024": (["realesrgan", "--size", "1024"], ["realesrgan", "--realesrgan-size", "1024"]),
    "pipeline-background": (["pipeline", "--image", "/tmp/photo_1000x750.jpg", "--background-enhance"],
                            ["pipeline", "--image", "/tmp/photo_1000x750.jpg", "--background-enhance"]),
    "pipeline-face-upsample": (["pipeline", "--image", "/tmp/photo_1000x750.jpg", "--background-enhance", "--face-upsample"],
                               ["pipeline", "--image", "/tmp/photo_1000x750.jpg", "--background-enhance", "--face-upsample"]),
    "pipeline": (["pipeline"], ["pipeline"]),
}

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("cases", nargs="+", choices=sorted(CASES))
p.add_argument("--official", required=True, help="a clone of https://github.com/sczhou/CodeFormer")
p.add_argument("--facerestore", default=os.path.join(HERE, "..", ".build", "release", "facerestore"))
p.add_argument("--precisions", nargs="+", default=["float32", "mixed"], help="facerestore --precision values to time")
p.add_argument("--rounds", type=int, default=3)
p.add_argument("--runs", type=int, default=1, help="timed runs per process after its warm-up")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--no-torch", action="store_true", help="time facerestore only")
arguments = p.parse_args()


def last_json(command):
    completed = subprocess.run(command, capture_output=True, text=True, cwd=os.path.join(HERE, ".."))
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{completed.stderr[-2000:]}")
    return json.loads([line for line in completed.stdout.splitlines() if line.startswith("{")][-1])


results = {}
for round_index in range(arguments.rounds):
    for case in arguments.cases:
        ours, theirs = CASES[case]
        for precision in arguments.precisions:
            record = last_json([arguments.facerestore, "bench", *ours, "--precision", precision, "--runs", str(arguments.runs), "--json"])
            results.setdefault((case, precision), []).append(record)
            print(f"round {round_index + 1} {case} facerestore {precision}: {record['ms_median'] / 1000:.2f} s, "
                  f"peak RSS {record['peak_rss_mb']:.0f} MB {record.get('last_run_stages_s', '')}", flush=True)
        if not arguments.no_torch:
            record = last_json([sys.executable, os.path.join(HERE, "pytorch_bench.py"), *theirs, "--official", arguments.official,
                                "--threads", str(arguments.threads), "--runs", str(arguments.runs), "--json"])
            results.setdefault((case, "pytorch"), []).append(record)
            print(f"round {round_index + 1} {case} pytorch: {record['ms_median'] / 1000:.2f} s, "
                  f"peak RSS {record['peak_rss_mb']:.0f} MB {record.get('last_run_stages_s', '')}", flush=True)

print()
header = "| case | " + " | ".join(f"facerestore {p}" for p in arguments.precisions)
header += "" if arguments.no_torch else " | PyTorch float32 | " + " | ".join(f"speed-up {p}" for p in arguments.precisions)
print(header + " |")
print("|" + " --- |" * (header.count("|")))
for case in arguments.cases:
    def median(key):
        return statistics.median(r["ms_median"] / 1000 for r in results[(case, key)])
    cells = [f"{median(p):.2f} s" for p in arguments.precisions]
    if not arguments.no_torch:
        torch_seconds = median("pytorch")
        cells.append(f"{torch_seconds:.2f} s")
        # The ratio of each round (both sides under the same load), then their median.
        for precision in arguments.precisions:
            ratios = [t["ms_median"] / o["ms_median"] for t, o in zip(results[(case, "pytorch")], results[(case, precision)])]
            cells.append(f"{statistics.median(ratios):.2f}x")
    print(f"| {case} | " + " | ".join(cells) + " |")
print()
for (case, key), records in results.items():
    stages = records[-1].get("last_run_stages_s")
    print(f"{case} {key}: peak RSS {max(r['peak_rss_mb'] for r in records):.0f} MB" + (f"; last run stages {stages}" if stages else ""))
