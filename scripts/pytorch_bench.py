#!/usr/bin/env python3
"""Times the official PyTorch networks on this machine, for comparison with `facerestore bench`.

The architectures are imported from a clone of the official repository (sczhou/CodeFormer), which
vendors CodeFormer, RRDBNet (Real-ESRGAN), RetinaFace and ParseNet; nothing of it is copied here.
Only the tiny helpers those files import from the rest of the repository (a logger, a registry, the
device picker, the compiled deformable-conv ops RRDBNet never uses) are replaced by stand-ins, so
the repository's training dependencies need not be installed.

Weights: the networks keep PyTorch's default initialisation, or load the official files from
--weights when present. Speed does not depend on the values (no data-dependent branches in these
forward passes).

Each figure is the median of --runs forward passes after a warm-up, under torch.no_grad(), with
--threads threads (default 2, as facerestore uses all cores of the 2-core reference machine), and
is printed beside torch's own sgemm GFLOP/s (2048^3, same process, measured last) and the ratio
of the network's GFLOP/s to it: the same measure as `facerestore bench`.

    python3 -m venv ~/torchbench && ~/torchbench/bin/pip install torch torchvision opencv-python-headless
    git clone https://github.com/sczhou/CodeFormer ~/CodeFormer
    ~/torchbench/bin/python scripts/pytorch_bench.py --official ~/CodeFormer --threads 2
"""
import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
import types
import warnings

warnings.filterwarnings("ignore")

# FLOP counts (multiply-adds x 2) of the inputs timed below, as `facerestore bench` counts them.
NETWORKS = ("codeformer", "parsenet", "retinaface", "realesrgan")
GFLOP = {
    "codeformer": 809.6,           # 512x512 face, w = 0.5 (fixtures/codeformer/README.md)
    "parsenet": None,              # filled from facerestore's figure if given with --ours
    "retinaface": None,
    "realesrgan": None,
}


def parse_arguments():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("networks", nargs="*", help="codeformer, parsenet, retinaface, realesrgan (default: all)")
    p.add_argument("--official", required=True, help="a clone of https://github.com/sczhou/CodeFormer")
    p.add_argument("--weights", help="folder with the official .pth files (optional)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--realesrgan-size", type=int, default=512, help="side of the square image RealESRGANer enhances")
    p.add_argument("--tile", type=int, default=400)
    p.add_argument("--tile-pad", type=int, default=40)
    p.add_argument("--ours", help="JSON lines from `facerestore bench ... --json`, to print side by side")
    p.add_argument("--json", action="store_true", help="print one JSON object per network")
    parsed = p.parse_args()
    parsed.networks = parsed.networks or list(NETWORKS)
    for name in parsed.networks:
        if name not in NETWORKS:
            p.error(f"unknown network {name!r}: choose from {', '.join(NETWORKS)}")
    return parsed


arguments = parse_arguments()
# Before torch loads: OpenMP reads these once.
os.environ.setdefault("OMP_NUM_THREADS", str(arguments.threads))
os.environ.setdefault("MKL_NUM_THREADS", str(arguments.threads))

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(arguments.threads)
torch.set_grad_enabled(False)


def stub(name, **attributes):
    module = types.ModuleType(name)
    module.__path__ = []
    for key, value in attributes.items():
        setattr(module, key, value)
    sys.modules[name] = module
    return module


class Registry:
    def register(self, obj=None):
        return obj if obj is not None else (lambda o: o)


def load_official(module_name, relative_path):
    path = os.path.join(arguments.official, relative_path)
    if not os.path.exists(path):
        sys.exit(f"{path} not found: --official must be a clone of sczhou/CodeFormer")
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def install_stand_ins():
    import logging
    stub("basicsr")
    stub("basicsr.utils", get_root_logger=lambda *a, **k: logging.getLogger("basicsr"))
    stub("basicsr.utils.registry", ARCH_REGISTRY=Registry())
    stub("basicsr.utils.misc", get_device=lambda *a, **k: torch.device("cpu"))
    stub("basicsr.utils.download_util", load_file_from_url=None)
    stub("basicsr.ops")
    stub("basicsr.ops.dcn", ModulatedDeformConvPack=object, modulated_deform_conv=None)
    stub("basicsr.archs")
    stub("facelib")
    stub("facelib.detection")
    stub("facelib.detection.retinaface")
    stub("facelib.parsing")


def official_weights(name, key=None):
    if not arguments.weights:
        return None
    path = os.path.join(arguments.weights, name)
    if not os.path.exists(path):
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    for wrapper in ("params_ema", "params"):
        if isinstance(state, dict) and wrapper in state:
            state = state[wrapper]
            break
    return {k.removeprefix("module."): v for k, v in state.items()}


def build_codeformer():
    load_official("basicsr.archs.vqgan_arch", "basicsr/archs/vqgan_arch.py")
    arch = load_official("basicsr.archs.codeformer_arch", "basicsr/archs/codeformer_arch.py")
    net = arch.CodeFormer(dim_embd=512, codebook_size=1024, n_head=8, n_layers=9, connect_list=["32", "64", "128", "256"])
    state = official_weights("codeformer.pth")
    if state:
        net.load_state_dict(state)
    net.eval()
    x = torch.rand(1, 3, 512, 512) * 2 - 1
    return lambda: net(x, w=0.5, adain=True), "codeformer 512x512 w=0.5"


def build_parsenet():
    arch = load_official("facelib.parsing.parsenet", "facelib/parsing/parsenet.py")
    net = arch.ParseNet(in_size=512, out_size=512, parsing_ch=19)
    state = official_weights("parsing_parsenet.pth")
    if state:
        net.load_state_dict(state)
    net.eval()
    x = torch.rand(1, 3, 512, 512) * 2 - 1
    return lambda: net(x), "parsenet 512x512"


def build_retinaface():
    load_official("facelib.detection.matlab_cp2tform", "facelib/detection/matlab_cp2tform.py")
    load_official("facelib.detection.align_trans", "facelib/detection/align_trans.py")
    load_official("facelib.detection.retinaface.retinaface_net", "facelib/detection/retinaface/retinaface_net.py")
    load_official("facelib.detection.retinaface.retinaface_utils", "facelib/detection/retinaface/retinaface_utils.py")
    arch = load_official("facelib.detection.retinaface.retinaface", "facelib/detection/retinaface/retinaface.py")
    net = arch.RetinaFace(network_name="resnet50", half=False)
    state = official_weights("detection_Resnet50_Final.pth")
    if state:
        net.load_state_dict(state)
    net.eval()
    x = torch.rand(1, 3, 640, 640) * 255 - 117
    return lambda: net(x), "retinaface resnet50 640x640"


def build_realesrgan():
    import tempfile
    load_official("basicsr.archs.arch_util", "basicsr/archs/arch_util.py")
    arch = load_official("basicsr.archs.rrdbnet_arch", "basicsr/archs/rrdbnet_arch.py")
    utils = load_official("basicsr.utils.realesrgan_utils", "basicsr/utils/realesrgan_utils.py")
    net = arch.RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32, scale=2)
    path = os.path.join(arguments.weights or "", "RealESRGAN_x2plus.pth")
    if not os.path.exists(path):
        path = os.path.join(tempfile.mkdtemp(), "RealESRGAN_x2plus_random.pth")
        torch.save({"params_ema": net.state_dict()}, path)
    upsampler = utils.RealESRGANer(scale=2, model_path=path, model=net, tile=arguments.tile, tile_pad=arguments.tile_pad,
                                   pre_pad=0, half=False, device=torch.device("cpu"))
    size = arguments.realesrgan_size
    image = (np.random.default_rng(0).random((size, size, 3)) * 255).astype(np.uint8)
    return lambda: upsampler.enhance(image, outscale=2), f"realesrgan x2 {size}x{size}"


def sgemm_gflops(size=2048, repetitions=5):
    a, b = torch.rand(size, size), torch.rand(size, size)
    best = float("inf")
    for _ in range(repetitions + 1):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


def peak_rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    install_stand_ins()
    ours = {}
    if arguments.ours:
        with open(arguments.ours) as lines:
            for line in lines:
                if line.strip():
                    record = json.loads(line)
                    ours[record["network"].split()[0]] = record
    builders = {"codeformer": build_codeformer, "parsenet": build_parsenet, "retinaface": build_retinaface,
                "realesrgan": build_realesrgan}
    results = []
    for name in arguments.networks:
        forward, label = builders[name]()
        forward()  # warm-up
        times = []
        for _ in range(arguments.runs):
            start = time.perf_counter()
            forward()
            times.append(time.perf_counter() - start)
        results.append({"network": label, "ms_median": statistics.median(times) * 1000, "runs": len(times)})
    sgemm = sgemm_gflops()
    for result in results:
        key = result["network"].split()[0]
        gflop = (ours.get(key) or {}).get("gflop") or GFLOP.get(key)
        result.update(sgemm_gflops=sgemm, peak_rss_mb=peak_rss_mb(), threads=arguments.threads, torch=torch.__version__)
        if gflop:
            result.update(gflop=gflop, gflops=gflop / (result["ms_median"] / 1000), ratio=gflop / (result["ms_median"] / 1000) / sgemm)
        if key in ours:
            result["facerestore_ms_median"] = ours[key]["ms_median"]
            result["speedup"] = result["ms_median"] / ours[key]["ms_median"]
        if arguments.json:
            print(json.dumps(result))
        else:
            line = f"pytorch {result['network']}: {result['ms_median']:.0f} ms median of {result['runs']}"
            if gflop:
                line += f", {result['gflops']:.1f} GFLOP/s, ratio {result['ratio']:.2f} of torch sgemm {sgemm:.1f} GFLOP/s"
            if "speedup" in result:
                line += f"; facerestore {result['facerestore_ms_median']:.0f} ms = {result['speedup']:.2f}x faster"
            print(line)
    if not arguments.json:
        print(f"peak RSS (all networks in this process): {peak_rss_mb():.0f} MB, torch {torch.__version__}, {arguments.threads} threads")


if __name__ == "__main__":
    main()
