#!/usr/bin/env python3
"""The learned optimizer of L2L4J written with PyTorch modules, for parity checks and timings on a GPU.

Andrychowicz et al. 2016 (arXiv 1606.04474), section 2.1 and appendix A.  The
coordinatewise LSTM is nn.LSTM(in0, H, L) + nn.Linear(H, 1) whose tensors carry the checkpoint's
names (lstm.weight_ih_l0 ..., output.weight, output.bias: PhiLayout's PyTorch order).  The n
coordinates are nn.LSTM's batch dimension, one time step per call:

    u     = rho(x)                      log-and-sign preprocessing (p, optional log epsilon) or identity
    delta = output_scale * output(LSTM(u, (h, c)))
    theta = theta + delta

The backward pass is autograd over an unroll of T steps of the meta-loss L = sum_t sum_i w[t][i]
delta_t[i] with the gradient inputs x_t detached (the paper's dropped second derivatives).

LSTM+GAC (the paper's appendix; the checkpoint's gac_units): nn.LSTM has no averaging, so with
averaging units the step runs the cell of each layer written out with nn.LSTM's tensors, and
replaces the first gac_units[l] outputs of layer l by their mean over each optimizee instance's
coordinates (n / instances of them, instance after instance) before the next layer and the next
step read them.

  torch_lstm.py parity FILE [--dump OUT]   compare with our outputs in FILE (written by GpuTimings parity or gac)
  torch_lstm.py time CKPT [--sizes ...] [--backward-sizes ...] [--compile-cap S] [--cpu]
  torch_lstm.py floors                     device copy bandwidth and float32 matrix-product rate
  torch_lstm.py groups OPTIMIZER STEPS     each parameter group of OPTIMIZER as nn.LSTM + nn.Linear (by name)
                                           against our steps in STEPS (both written by GpuTimings groups)

Needs torch and numpy; uses the safetensors package when present, else a small reader/writer here.
Every result is one line "RESULT impl=... op=... n=... ms=..." (read by summary.py).  TF32 is off.
"""
import argparse
import json
import math
import signal
import struct
import sys
import time

import numpy as np
import torch

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

FLT_MIN = float(np.finfo(np.float32).tiny)
LOG_EPSILON = 1.1920929e-7
UNROLL = 20
SAMPLES = 5
NO_DEVICE = 3  # exit status without a CUDA device (run_all.sh reports the stage as skipped)


# ---- safetensors ------------------------------------------------------------------------------
DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}


def read_safetensors(path):
    """(tensors as numpy arrays, metadata dict)."""
    try:
        from safetensors import safe_open
        with safe_open(path, framework="np") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    except ImportError:
        pass
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = np.dtype(DTYPES[entry["dtype"]]).newbyteorder("<")
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(entry["shape"]).astype(dtype.newbyteorder("="))
    return tensors, meta


def write_safetensors(path, tensors, meta):
    try:
        from safetensors.numpy import save_file
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, path, metadata=meta)
        return
    except ImportError:
        pass
    names = {np.dtype(v): k for k, v in DTYPES.items()}
    header, offset, blobs = {"__metadata__": meta}, 0, []
    for name, value in tensors.items():
        blob = np.ascontiguousarray(value).astype(np.dtype(value.dtype).newbyteorder("<")).tobytes()
        header[name] = {"dtype": names[np.dtype(value.dtype)], "shape": list(value.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


# ---- the optimizer ----------------------------------------------------------------------------
class LearnedOptimizer(torch.nn.Module):
    """nn.LSTM + nn.Linear with the checkpoint's names, and the checkpoint's preprocessing and scale."""

    def __init__(self, meta):
        super().__init__()
        widths = [int(w) for w in meta["widths"].split(",") if w]
        if not widths or len(set(widths)) != 1:
            raise ValueError(f"nn.LSTM needs >= 1 layers of one width, got {widths}")
        self.log_and_sign = meta["preprocessing"] == "LOG_AND_SIGN"
        self.in0 = 2 if self.log_and_sign else 1
        self.width, self.layers = widths[0], len(widths)
        self.p = float(meta["p"])
        self.exp_p = float(np.float32(math.exp(self.p)))
        self.scale = float(meta["output_scale"])
        self.log_epsilon = meta["log_epsilon"] == "true"
        self.lstm = torch.nn.LSTM(self.in0, self.width, self.layers)
        self.output = torch.nn.Linear(self.width, 1)
        self.gac = [int(g) for g in meta.get("gac_units", ",".join("0" * len(widths))).split(",")]
        self.instances = int(meta.get("instances", "1"))

    def load_flat(self, phi):
        """phi in PhiLayout order, which is named_parameters() order."""
        offset = 0
        with torch.no_grad():
            for _, param in self.named_parameters():
                param.copy_(torch.from_numpy(phi[offset:offset + param.numel()]).view_as(param))
                offset += param.numel()
        if offset != len(phi):
            raise ValueError(f"phi has {len(phi)} values, the model {offset}")

    def preprocess(self, x):
        """rho(x) [n, in0] (paper appendix A; NaN propagates through log, clamp_min and clamp)."""
        if not self.log_and_sign:
            return x.unsqueeze(-1)
        ax = x.abs() + LOG_EPSILON if self.log_epsilon else torch.clamp_min(x.abs(), FLT_MIN)
        u0 = torch.clamp_min(torch.log(ax) / self.p, -1.0)
        u1 = torch.clamp(x * self.exp_p, -1.0, 1.0)
        return torch.stack([u0, u1], dim=-1)

    def forward(self, x, h, c):
        """One step for every coordinate: (delta [n], h, c), h and c [L, n, H]."""
        if not any(self.gac):
            out, (h, c) = self.lstm(self.preprocess(x).unsqueeze(0), (h, c))
            return self.scale * self.output(out[0]).squeeze(-1), h, c
        u, hs, cs = self.preprocess(x), [], []
        for l in range(self.layers):
            weight = lambda name: getattr(self.lstm, f"{name}_l{l}")
            z = u @ weight("weight_ih").T + weight("bias_ih") + h[l] @ weight("weight_hh").T + weight("bias_hh")
            i, f, g, o = z.chunk(4, dim=-1)
            c_new = torch.sigmoid(f) * c[l] + torch.sigmoid(i) * torch.tanh(g)
            h_new = torch.sigmoid(o) * torch.tanh(c_new)
            k = self.gac[l]
            if k > 0:
                shared = h_new[:, :k].reshape(self.instances, -1, k)
                mean = shared.mean(dim=1, keepdim=True).expand_as(shared).reshape(-1, k)
                h_new = torch.cat([mean, h_new[:, k:]], dim=-1)
            hs.append(h_new)
            cs.append(c_new)
            u = h_new
        return self.scale * self.output(u).squeeze(-1), torch.stack(hs), torch.stack(cs)


def load_checkpoint(path, device, dtype=torch.float32):
    tensors, meta = read_safetensors(path)
    model = LearnedOptimizer(meta)
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in tensors.items()})
    return model.to(device=device, dtype=dtype)


def state_to_torch(state, layers, width, device, dtype):
    """Our state [S][n] (per layer: H rows of h, then H rows of c) to nn.LSTM's h, c [L, n, H]."""
    s = torch.as_tensor(state, device=device, dtype=dtype).view(layers, 2, width, -1)
    return s[:, 0].transpose(1, 2).contiguous(), s[:, 1].transpose(1, 2).contiguous()


def state_from_torch(h, c):
    return torch.stack([h.transpose(1, 2), c.transpose(1, 2)], dim=1).reshape(-1, h.shape[1])


def spanning_gradients(n, device, generator):
    """Magnitudes log-uniform in [1e-12, 1e3], both signs (as the Java tests' inputs)."""
    mag = torch.pow(10.0, -12 + 15 * torch.rand(n, device=device, generator=generator))
    sign = torch.where(torch.rand(n, device=device, generator=generator) < 0.5, -1.0, 1.0)
    return (mag * sign).float()


# ---- parity -----------------------------------------------------------------------------------
def error(a, b):
    """The error measure of the parity checks: max |a - b| / max |b| (NaN counts as infinite)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = np.abs(a - b)
    return math.inf if np.isnan(d).any() else float(d.max() / max(np.abs(b).max(), 1e-300))


def unroll(model, x, weights, state0, device, dtype):
    """theta after each step [T][n] (theta_0 = 0), final state [S][n], d(sum_t w_t . delta_t)/dphi flat."""
    h, c = state_to_torch(state0, model.layers, model.width, device, dtype)
    theta = torch.zeros(x.shape[1], device=device, dtype=dtype)
    thetas, loss = [], 0
    model.zero_grad(set_to_none=True)
    for t in range(x.shape[0]):
        xt = torch.as_tensor(x[t], device=device, dtype=dtype)  # a constant: no gradient flows into x
        delta, h, c = model(xt, h, c)
        theta = theta + delta.detach()
        thetas.append(theta.cpu().numpy())
        loss = loss + (torch.as_tensor(weights[t], device=device, dtype=dtype) * delta).sum()
    loss.backward()
    dphi = torch.cat([p.grad.reshape(-1) for _, p in model.named_parameters()])
    return np.stack(thetas), state_from_torch(h, c).detach().cpu().numpy(), dphi.double().cpu().numpy()


def parity(args):
    tensors, meta = read_safetensors(args.file)
    device = "cuda" if torch.cuda.is_available() and not args.cpu else "cpu"
    print(f"# parity on {device}: n = {tensors['x'].shape[1]}, T = {tensors['x'].shape[0]}, "
          f"gac_units {meta.get('gac_units', 'none')}, instances {meta.get('instances', '1')}, "
          f"torch {torch.__version__}")
    names = None
    runs = {}
    for label, dtype in (("float32", torch.float32), ("float64", torch.float64)):
        model = LearnedOptimizer(meta)
        model.load_flat(tensors["phi"])
        names = [(k, p.numel()) for k, p in model.named_parameters()]
        try:
            runs[label] = unroll(model.to(device=device, dtype=dtype), tensors["x"], tensors["dloss"],
                                 tensors["state0"], device, dtype)
        except RuntimeError as e:  # a float64 LSTM the device library refuses: the CPU is the reference
            print(f"# {label} on {device} failed ({str(e).splitlines()[0]}): on the CPU instead")
            runs[label] = unroll(model.to(device="cpu", dtype=dtype), tensors["x"], tensors["dloss"],
                                 tensors["state0"], "cpu", dtype)
    ours = (tensors["theta"], tensors["state"], tensors["dphi"])
    worst = {}
    for what, (reference, tol) in {"ours vs torch float64": (runs["float64"], True),
                                   "ours vs torch float32": (runs["float32"], False),
                                   "torch float32 vs torch float64": (runs["float64"], False)}.items():
        mine = runs["float32"] if what.startswith("torch") else ours
        e_theta = max(error(mine[0][t], reference[0][t]) for t in range(reference[0].shape[0]))
        e_state = error(mine[1], reference[1])
        offset, e_dphi, worst_name = 0, 0.0, ""
        for name, size in names:
            e = error(mine[2][offset:offset + size], reference[2][offset:offset + size])
            if e > e_dphi:
                e_dphi, worst_name = e, name
            offset += size
        print(f"RESULT impl=parity op={what.replace(' ', '_')} theta={e_theta:.3g} state={e_state:.3g} "
              f"dphi={e_dphi:.3g} worst_dphi_tensor={worst_name}")
        if tol:
            worst = {"theta": e_theta, "state": e_state, "dphi": e_dphi}
    if args.dump:
        out = {}
        for label, (th, st, dp) in runs.items():
            out.update({f"theta_{label}": th.astype(np.float64), f"state_{label}": st.astype(np.float64),
                        f"dphi_{label}": dp})
        write_safetensors(args.dump, out, {"source": "torch_lstm.py parity", "torch": torch.__version__})
    # the state carries float32 rounding through all T steps of the recurrence: torch's own float32
    # run ends 1.6e-5 from float64 there (shipped phi, T = 20, n = 4096), hence 1e-4
    ok = worst["theta"] <= 1e-5 and worst["state"] <= 1e-4 and worst["dphi"] <= 1e-4
    print(("PASS" if ok else "FAIL") + " parity: ours vs torch float64 within 1e-5 (theta), 1e-4 (state, dphi)")
    return 0 if ok else 1


# ---- parameter groups -------------------------------------------------------------------------
def rule_matches(rule, name):
    """A TensorRule: '|'-separated globs, '*' any run of characters, '?' one, the rest literal."""
    import re
    for glob in rule.split("|"):
        pattern = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in glob)
        if re.fullmatch(pattern, name, flags=re.DOTALL):
            return True
    return False


def groups(args):
    """Each group of a grouped checkpoint loads on its own into nn.LSTM + nn.Linear (names with the
    group's prefix stripped, strict) and steps its tensors as our training-loop optimizer did."""
    tensors, meta = read_safetensors(args.optimizer)
    steps, steps_meta = read_safetensors(args.steps)
    names = meta["groups"].split(",")
    members = {g: [] for g in names}
    for tensor in steps_meta["tensors"].split(","):
        owner = next((g for g in names if rule_matches(meta[g + ".rule"], tensor)), None)
        if owner is None:
            print(f"FAIL groups: tensor {tensor} matches no group's rule")
            return 1
        members[owner].append(tensor)
    worst = 0.0
    for g in names:
        prefix = g + "."
        own_meta = {k[len(prefix):]: v for k, v in meta.items() if k.startswith(prefix)}
        model = LearnedOptimizer(own_meta)
        state = {k[len(prefix):]: torch.from_numpy(np.array(v)) for k, v in tensors.items() if k.startswith(prefix)}
        model.load_state_dict(state, strict=True)
        model = model.to(dtype=torch.float64)
        if not members[g]:
            print(f"FAIL groups: group {g} owns none of the tensors")
            return 1
        x = np.concatenate([steps["x." + t] for t in members[g]], axis=1).astype(np.float64)
        ours = np.concatenate([steps["theta." + t] for t in members[g]], axis=1).astype(np.float64)
        n = x.shape[1]
        h = torch.zeros(model.layers, n, model.width, dtype=torch.float64)
        c = torch.zeros_like(h)
        theta = np.zeros(n)
        with torch.no_grad():
            for t in range(x.shape[0]):
                delta, h, c = model(torch.from_numpy(x[t]), h, c)
                theta = theta + delta.numpy()
                e = error(ours[t], theta)
                worst = max(worst, e)
        print(f"RESULT impl=groups op={g} tensors={','.join(members[g])} n={n} err={e:.3g}")
    ok = worst <= 1e-5
    print(("PASS" if ok else "FAIL") + " groups: every group loads by name into nn.LSTM + nn.Linear and steps as ours "
          f"within 1e-5 (worst {worst:.3g})")
    return 0 if ok else 1


# ---- timings ----------------------------------------------------------------------------------
class Clock:
    """CUDA events on a GPU (device time between marks); the host clock on the CPU (smoke runs)."""

    def __init__(self, device):
        self.cuda = device == "cuda"

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def release(self):
        """Returns cached device memory between sizes."""
        if self.cuda:
            torch.cuda.empty_cache()

    def mark(self):
        if not self.cuda:
            return time.perf_counter()
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def ms(self, begin, end):
        if not self.cuda:
            return (end - begin) * 1e3
        end.synchronize()
        return begin.elapsed_time(end)


def median_ms(fn, clock, warmup=3):
    """Marks around K back-to-back calls (K so that a sample lasts >= 2 ms); median of 5 samples / K."""
    for _ in range(warmup):
        fn()

    def sample(k):
        clock.sync()
        begin = clock.mark()
        for _ in range(k):
            fn()
        end = clock.mark()
        clock.sync()
        return clock.ms(begin, end)

    k = max(1, min(1000, math.ceil(2.0 / max(sample(1), 1e-3))))
    return sorted(sample(k) / k for _ in range(SAMPLES))[SAMPLES // 2]


class CompileCap:
    """Raises TimeoutError in the main thread when compiling outlasts `seconds` (SIGALRM)."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __enter__(self):
        def expire(signum, frame):
            raise TimeoutError(f"torch.compile took more than {self.seconds} s")
        signal.signal(signal.SIGALRM, expire)
        signal.alarm(self.seconds)

    def __exit__(self, *exc):
        signal.alarm(0)


def result(impl, op, n, ms, extra=""):
    print(f"RESULT impl={impl} op={op} n={n} ms={ms:.6g}" + (f" {extra}" if extra else ""), flush=True)


def time_variants(args):
    device = "cpu" if args.cpu else "cuda"
    clock = Clock(device)
    model = load_checkpoint(args.checkpoint, device)
    for p in model.parameters():
        p.requires_grad_(False)
    variants = {"eager": model}
    if hasattr(torch, "compile"):
        variants["compiled"] = torch.compile(model, dynamic=True)
    else:
        print("SKIP compiled: this torch has no torch.compile")
    generator = torch.Generator(device=device).manual_seed(1)
    sizes = [int(float(s)) for s in args.sizes.split(",") if s]
    backward_sizes = [int(float(s)) for s in args.backward_sizes.split(",") if s]
    for impl, fn in variants.items():
        compile_deadline = time.monotonic() + args.compile_cap
        for n in sizes:
            x = spanning_gradients(n, device, generator)
            theta = torch.rand(n, device=device, generator=generator) * 2 - 1
            h = torch.zeros(model.layers, n, model.width, device=device)
            c = torch.zeros_like(h)
            state = [h, c]

            @torch.no_grad()
            def step():
                delta, state[0], state[1] = fn(x, state[0], state[1])
                theta.add_(delta)

            try:
                if impl == "compiled":
                    left = int(compile_deadline - time.monotonic())
                    if left < 1:
                        raise TimeoutError(f"the compile cap of {args.compile_cap} s is spent")
                    t0 = time.monotonic()
                    with CompileCap(left):
                        step()
                        clock.sync()
                    print(f"# compiled step at n = {n}: first call {time.monotonic() - t0:.1f} s")
                result(impl, "step", n, median_ms(step, clock))
            except (TimeoutError, RuntimeError) as e:  # CUDA out of memory is a RuntimeError
                print(f"SKIP {impl} step n={n}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            del x, theta, h, c, state, step
            clock.release()
        for n in backward_sizes:
            try:
                time_backward(impl, fn, model, n, clock, generator, compile_deadline, args.compile_cap)
            except (TimeoutError, RuntimeError) as e:  # CUDA out of memory is a RuntimeError
                print(f"SKIP {impl} backward n={n}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            clock.release()


def time_backward(impl, fn, model, n, clock, generator, compile_deadline, cap):
    """The unroll of T steps with autograd (forward), then its backward pass, timed apart."""
    device = "cuda" if clock.cuda else "cpu"
    xs = [spanning_gradients(n, device, generator) for _ in range(UNROLL)]
    weights = [torch.rand(n, device=device, generator=generator) * 2e-3 - 1e-3 for _ in range(UNROLL)]
    for p in model.parameters():
        p.requires_grad_(True)

    def once():
        h = torch.zeros(model.layers, n, model.width, device=device)
        c = torch.zeros_like(h)
        model.zero_grad(set_to_none=True)
        clock.sync()
        begin = clock.mark()
        loss = 0
        for t in range(UNROLL):
            delta, h, c = fn(xs[t], h, c)
            loss = loss + (weights[t] * delta).sum()
        middle = clock.mark()
        loss.backward()
        end = clock.mark()
        clock.sync()
        return clock.ms(begin, middle), clock.ms(middle, end)

    try:
        if impl == "compiled":
            left = int(compile_deadline - time.monotonic())
            if left < 1:
                raise TimeoutError(f"the compile cap of {cap} s is spent")
            with CompileCap(left):
                once()
        for _ in range(2):
            once()
        samples = [once() for _ in range(SAMPLES)]
        forward = sorted(s[0] for s in samples)[SAMPLES // 2]
        backward = sorted(s[1] for s in samples)[SAMPLES // 2]
        peak = f" peak_gb={torch.cuda.max_memory_allocated() / 1e9:.1f}" if clock.cuda else ""
        result(impl, "unroll_forward", n, forward, f"steps={UNROLL}")
        result(impl, "backward", n, backward, f"steps={UNROLL}{peak}")
    finally:
        for p in model.parameters():
            p.requires_grad_(False)
        if clock.cuda:
            torch.cuda.reset_peak_memory_stats()


def floors(args):
    """Device-to-device copy bandwidth (bytes read + written) and the float32 matrix-product rate (no TF32)."""
    a = torch.rand(1 << 29, device="cuda")
    b = torch.empty_like(a)
    clock = Clock("cuda")
    ms = median_ms(lambda: b.copy_(a), clock)
    result("torch", "copy", a.numel(), ms, f"gbps={2 * 4 * a.numel() / ms / 1e6:.1f}")
    del a, b
    m = 8192
    x = torch.rand(m, m, device="cuda")
    y = torch.rand(m, m, device="cuda")
    ms = median_ms(lambda: torch.mm(x, y), clock)
    result("torch", "sgemm", m, ms, f"tflops={2 * m ** 3 / ms / 1e9:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parity", help="compare with our outputs on the same phi and inputs")
    p.add_argument("file")
    p.add_argument("--dump", help="also write torch's outputs (float32 and float64) to this safetensors file")
    p.add_argument("--cpu", action="store_true", help="run torch on the CPU")
    t = sub.add_parser("time", help="time the step and the backward pass with CUDA events")
    t.add_argument("checkpoint")
    t.add_argument("--sizes", default="1e4,1e5,1e6,1e7")
    t.add_argument("--backward-sizes", default="1e4,1e5,1e6")
    t.add_argument("--compile-cap", type=int, default=120, help="seconds of compiling allowed per variant")
    t.add_argument("--cpu", action="store_true", help="a smoke run on the CPU, timed with the host clock")
    sub.add_parser("floors", help="measure the copy bandwidth and the float32 rate")
    gr = sub.add_parser("groups", help="load each parameter group of a checkpoint and step as ours")
    gr.add_argument("optimizer")
    gr.add_argument("steps")
    args = parser.parse_args()
    if args.command not in ("parity", "groups") and not getattr(args, "cpu", False) and not torch.cuda.is_available():
        print("SKIP no CUDA device visible to torch")
        return NO_DEVICE
    return {"parity": parity, "time": time_variants, "floors": floors, "groups": groups}[args.command](args) or 0


if __name__ == "__main__":
    sys.exit(main())
