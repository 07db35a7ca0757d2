#!/usr/bin/env python3
"""The closing table of tests/gpu/run_all.sh, from its results.txt (standard library only).

Each timing is set against its floor: the larger of bytes / measured copy bandwidth and FLOPs /
measured float32 rate, for the paper's optimizer (LSTM 20-20, log-and-sign; README "Cost model"),
per coordinate (S = 80 state rows, R = 81 record rows, T = 20 steps per unroll):

  step             4 (3 + 2S) = 652 B (theta, x, state in; theta, state out)       9,960 FLOP
  unroll (T steps, what the backward needs kept)   T 4 (3 + 2S + R) = 19,520 B      T 9,960 FLOP
  backward (T)     T 4 (R + 1) = 6,560 B (record and dL/d delta in)                T 30,000 FLOP

"% of floor" is floor / measured time (100% = at the floor); "/ ours" is the time over ours.
  summary.py results.txt
"""
import re
import sys

S, R, T = 80, 81, 20
COST = {  # op: (bytes, FLOPs) per coordinate
    "step": (4 * (3 + 2 * S), 9960),
    "recorded_unroll": (T * 4 * (3 + 2 * S + R), T * 9960),
    "unroll_forward": (T * 4 * (3 + 2 * S + R), T * 9960),
    "backward": (T * 4 * (R + 1), T * 30000),
}
DATASHEET = {"gbps": 4800.0, "tflops": 67.0}  # H200 SXM, vendor datasheet: used only when unmeasured


def parse(path):
    results, other = [], []
    for line in open(path):
        parts = line.split()
        if len(parts) > 1 and parts[1] == "RESULT":
            fields = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
            fields["stage"] = parts[0]
            results.append(fields)
        elif line.strip():
            other.append(line.rstrip())
    return results, other


def main(path):
    results, other = parse(path)
    measured = {}
    for r in results:
        if r.get("op") == "copy" and "gbps" in r:
            measured.setdefault("gbps", (float(r["gbps"]), f"copy by {r['impl']}"))
        if r.get("op") == "sgemm" and "tflops" in r:
            measured.setdefault("tflops", (float(r["tflops"]), "sgemm 8192^3, no TF32"))
    gbps, gbps_src = measured.get("gbps", (DATASHEET["gbps"], "datasheet, not measured"))
    tflops, tflops_src = measured.get("tflops", (DATASHEET["tflops"], "datasheet, not measured"))
    print(f"floors: bandwidth {gbps:.0f} GB/s ({gbps_src}); float32 rate {tflops:.1f} TFLOP/s ({tflops_src})")
    print()

    timed = [r for r in results if r.get("op") in COST and "ms" in r]
    ours = {(r["op"], r["n"]): float(r["ms"]) for r in timed if r["impl"] == "ours"}
    header = f"{'op':<16}{'n':>10}  {'impl':<9}{'ms':>11}{'ns/coord':>10}{'floor ms':>10}{'% floor':>9}{'bound':>7}{'/ ours':>8}"
    print(header)
    print("-" * len(header))
    for r in sorted(timed, key=lambda r: (list(COST).index(r["op"]), int(r["n"]), r["impl"])):
        n, ms = int(r["n"]), float(r["ms"])
        bytes_, flops = COST[r["op"]]
        t_mem = bytes_ * n / (gbps * 1e9) * 1e3
        t_fp = flops * n / (tflops * 1e12) * 1e3
        floor = max(t_mem, t_fp)
        base = ours.get(("recorded_unroll" if r["op"] == "unroll_forward" else r["op"], r["n"]))
        ratio = f"{ms / base:8.2f}" if base else f"{'':>8}"
        print(f"{r['op']:<16}{n:>10}  {r['impl']:<9}{ms:>11.4g}{1e6 * ms / n:>10.3g}{floor:>10.3g}"
              f"{100 * floor / ms:>8.1f}%{'mem' if t_mem >= t_fp else 'fp32':>7}{ratio}")
    print()

    epochs = {r["impl"]: r for r in results if r.get("op") == "epoch"}
    if "ours" in epochs:
        g = float(epochs["ours"]["ms"])
        line = f"MNIST meta-training epoch (100 steps, n = {epochs['ours']['n']}): {g:.1f} ms on the device ({1e5 / g:.0f} steps/s)"
        if "cpu" in epochs:
            c = float(epochs["cpu"]["ms"])
            line += f"; CPU host path {c:.0f} ms ({epochs['cpu'].get('threads', '?')} threads): {c / g:.1f}x"
        print(line)
    cifar = [r for r in results if r.get("op") == "cifar-epoch"]
    if cifar:
        g = float(cifar[0]["ms"])
        print(f"CIFAR-10 meta-training epoch (cuDNN, groups conv and fc, 100 steps, n = {cifar[0]['n']}): "
              f"{g:.1f} ms on the device ({1e5 / g:.0f} steps/s)")
    for r in results:
        if r.get("impl") == "parity":
            print(f"parity {r['op'].replace('_', ' ')}: theta {r['theta']}, state {r['state']}, dphi {r['dphi']}"
                  f" (worst {r.get('worst_dphi_tensor', '')})")
    checks = [line for line in other if re.match(r"^\S+ (PASS|FAIL|SKIP|TIMEOUT|JUNIT)", line)]
    if checks:
        print()
        print("checks:")
        for line in checks:
            print("  " + line)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results.txt")
