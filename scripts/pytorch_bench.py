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
NETWORKS = ("codeformer", "parsenet", "retinaface", "realesrgan", "pipeline")
GFLOP = {
    "codeformer": 809.6,           # 512x512 face, w = 0.5 (fixtures/codeformer/README.md)
    "parsenet": None,              # filled from facerestore's figure if given with --ours
    "retinaface": None,
    "realesrgan": None,
    "pipeline": None,
}


def parse_arguments():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("networks", nargs="*", help="codeformer, parsenet, retinaface, realesrgan, pipeline (default: all)")
    p.add_argument("--official", required=True, help="a clone of https://github.com/sczhou/CodeFormer")
    p.add_argument("--weights", help="folder with the official .pth files (optional)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--realesrgan-size", type=int, default=512, help="side of the square image RealESRGANer enhances")
    p.add_argument("--tile", type=int, default=400)
    p.add_argument("--tile-pad", type=int, default=40)
    p.add_argument("--fixtures", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "fixtures"),
                   help="the fixtures folder: the pipeline runs on its synthetic-weight manifests, as `facerestore bench pipeline` does")
    p.add_argument("--image", help="photo for the pipeline (default: FIXTURES/images/04.jpg)")
    p.add_argument("--upscale", type=int, default=2)
    p.add_argument("--background-enhance", action="store_true",
                   help="pipeline: upsample the background with RealESRGANer x2plus (tile --tile, pad --tile-pad, "
                        "float32: the official script's half=True is CUDA only), as `inference_codeformer.py --bg_upsampler realesrgan`")
    p.add_argument("--face-upsample", action="store_true",
                   help="pipeline: upsample the restored faces with the same upsampler (`--face_upsample`)")
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
    stub("facelib.utils")


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


def with_official_weights(net, name):
    """`net` in eval mode, with the official file `name` from --weights loaded when it is there."""
    state = official_weights(name)
    if state:
        net.load_state_dict(state)
    return net.eval()


def build_codeformer():
    load_official("basicsr.archs.vqgan_arch", "basicsr/archs/vqgan_arch.py")
    arch = load_official("basicsr.archs.codeformer_arch", "basicsr/archs/codeformer_arch.py")
    net = arch.CodeFormer(dim_embd=512, codebook_size=1024, n_head=8, n_layers=9, connect_list=["32", "64", "128", "256"])
    net = with_official_weights(net, "codeformer.pth")
    x = torch.rand(1, 3, 512, 512) * 2 - 1
    return lambda: net(x, w=0.5, adain=True), "codeformer 512x512 w=0.5"


def build_parsenet():
    arch = load_official("facelib.parsing.parsenet", "facelib/parsing/parsenet.py")
    net = arch.ParseNet(in_size=512, out_size=512, parsing_ch=19)
    net = with_official_weights(net, "parsing_parsenet.pth")
    x = torch.rand(1, 3, 512, 512) * 2 - 1
    return lambda: net(x), "parsenet 512x512"


def official_retinaface():
    """facelib's retinaface module, with the modules it imports."""
    if "facelib.detection.retinaface.retinaface" in sys.modules:
        return sys.modules["facelib.detection.retinaface.retinaface"]
    load_official("facelib.detection.matlab_cp2tform", "facelib/detection/matlab_cp2tform.py")
    load_official("facelib.detection.align_trans", "facelib/detection/align_trans.py")
    load_official("facelib.detection.retinaface.retinaface_net", "facelib/detection/retinaface/retinaface_net.py")
    load_official("facelib.detection.retinaface.retinaface_utils", "facelib/detection/retinaface/retinaface_utils.py")
    return load_official("facelib.detection.retinaface.retinaface", "facelib/detection/retinaface/retinaface.py")


def build_retinaface():
    net = official_retinaface().RetinaFace(network_name="resnet50", half=False)
    net = with_official_weights(net, "detection_Resnet50_Final.pth")
    x = torch.rand(1, 3, 640, 640) * 255 - 117
    return lambda: net(x), "retinaface resnet50 640x640"


def official_realesrganer(state_dict=None):
    """The official RealESRGANer with RRDBNet x2plus as inference_codeformer.py builds it (tile, tile pad
    40, pre-pad 0), on the CPU in float32; weights from --weights, else `state_dict`, else random."""
    import tempfile
    load_official("basicsr.archs.arch_util", "basicsr/archs/arch_util.py")
    arch = load_official("basicsr.archs.rrdbnet_arch", "basicsr/archs/rrdbnet_arch.py")
    utils = load_official("basicsr.utils.realesrgan_utils", "basicsr/utils/realesrgan_utils.py")
    net = arch.RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32, scale=2)
    if state_dict is not None:
        net.load_state_dict(state_dict, strict=True)
    path = os.path.join(arguments.weights or "", "RealESRGAN_x2plus.pth")
    if not os.path.exists(path):
        path = os.path.join(tempfile.mkdtemp(), "RealESRGAN_x2plus_stand_in.pth")
        torch.save({"params_ema": net.state_dict()}, path)
    return utils.RealESRGANer(scale=2, model_path=path, model=net, tile=arguments.tile, tile_pad=arguments.tile_pad,
                              pre_pad=0, half=False, device=torch.device("cpu"))


def build_realesrgan():
    upsampler = official_realesrganer()
    size = arguments.realesrgan_size
    image = (np.random.default_rng(0).random((size, size, 3)) * 255).astype(np.uint8)
    return lambda: upsampler.enhance(image, outscale=2), f"realesrgan x2 {size}x{size}"


def synthetic_state_dict(manifest_path):
    """The tensors of a synthetic-weights manifest (fixtures/SYNTHETIC_WEIGHTS.md)."""
    with open(manifest_path) as f:
        manifest = json.load(f)
    seed = np.uint64(manifest["seed"])
    state = {}
    for entry in manifest["tensors"]:
        shape = entry["shape"]
        count = int(np.prod(shape)) if shape else 1
        if entry["dtype"] == "int64":
            state[entry["name"]] = torch.zeros(shape, dtype=torch.int64)
            continue
        i = np.arange(count, dtype=np.uint64)
        u = (i * np.uint64(2654435761) + np.uint64(entry["k"]) * np.uint64(40503) + seed * np.uint64(97)) % np.uint64(1 << 32)
        x = u.astype(np.float64) / 4294967296.0
        values = (entry["offset"] + entry["scale"] * (2 * x - 1)).astype(np.float32)
        state[entry["name"]] = torch.from_numpy(values.reshape(shape))
    return state


def build_pipeline():
    """The official whole-photo loop of inference_codeformer.py (detect, align, CodeFormer, paste-back
    with ParseNet), with FaceRestoreHelper imported from the clone and the same synthetic weights and
    photo `facerestore bench pipeline` uses; PNG writing is left out on both sides."""
    import cv2
    fixtures = arguments.fixtures
    retinaface = official_retinaface()
    parsenet = load_official("facelib.parsing.parsenet", "facelib/parsing/parsenet.py")

    def init_detection_model(model_name, half=False, device="cpu"):
        net = retinaface.RetinaFace(network_name="resnet50", half=half)
        net.load_state_dict(synthetic_state_dict(os.path.join(fixtures, "facelib/retinaface_r50/manifest.json")), strict=True)
        return net.eval()

    def init_parsing_model(model_name="parsenet", half=False, device="cpu"):
        net = parsenet.ParseNet(in_size=512, out_size=512, parsing_ch=19)
        net.load_state_dict(synthetic_state_dict(os.path.join(fixtures, "facelib/parsenet/manifest.json")), strict=True)
        return net.eval()

    sys.modules["facelib.detection"].init_detection_model = init_detection_model
    sys.modules["facelib.parsing"].init_parsing_model = init_parsing_model
    misc = load_official("facelib.utils.misc", "facelib/utils/misc.py")
    img_util = load_official("basicsr.utils.img_util", "basicsr/utils/img_util.py")
    helper_module = load_official("facelib.utils.face_restoration_helper", "facelib/utils/face_restoration_helper.py")
    from torchvision.transforms.functional import normalize

    load_official("basicsr.archs.vqgan_arch", "basicsr/archs/vqgan_arch.py")
    arch = load_official("basicsr.archs.codeformer_arch", "basicsr/archs/codeformer_arch.py")
    net = arch.CodeFormer(dim_embd=512, codebook_size=1024, n_head=8, n_layers=9, connect_list=["32", "64", "128", "256"])
    net.load_state_dict(synthetic_state_dict(os.path.join(fixtures, "codeformer/codeformer_full.manifest.json")), strict=True)
    net.eval()
    upsampler = None
    if arguments.background_enhance or arguments.face_upsample:
        upsampler = official_realesrganer(synthetic_state_dict(os.path.join(fixtures, "realesrgan/x2plus_synth/manifest.json")))
    helper = helper_module.FaceRestoreHelper(arguments.upscale, face_size=512, crop_ratio=(1, 1), det_model="retinaface_resnet50",
                                             save_ext="png", use_parse=True, device=torch.device("cpu"))
    image_path = arguments.image or os.path.join(fixtures, "images/04.jpg")
    stages = {}

    def timed(stage, body):
        start = time.perf_counter()
        result = body()
        stages[stage] = stages.get(stage, 0) + time.perf_counter() - start
        return result

    def run():
        stages.clear()
        helper.clean_all()
        img = timed("read", lambda: cv2.imread(image_path, cv2.IMREAD_COLOR))
        timed("read", lambda: helper.read_image(img))
        faces = timed("detect", lambda: helper.get_face_landmarks_5(only_center_face=True, resize=640, eye_dist_threshold=5))
        timed("align", helper.align_warp_face)
        for cropped_face in helper.cropped_faces:
            def restore():
                face = misc.img2tensor(cropped_face / 255., bgr2rgb=True, float32=True)
                normalize(face, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), inplace=True)
                output = net(face.unsqueeze(0), w=0.5, adain=True)[0]
                return img_util.tensor2img(output, rgb2bgr=True, min_max=(-1, 1)).astype("uint8")
            helper.add_restored_face(timed("restore", restore), cropped_face)
        background = None
        if arguments.background_enhance:
            background = timed("upsample background", lambda: upsampler.enhance(img, outscale=arguments.upscale)[0])
        helper.get_inverse_affine(None)
        face_upsampler = TimedUpsampler(upsampler, lambda seconds: stages.__setitem__("upsample faces", stages.get("upsample faces", 0) + seconds)) \
            if arguments.face_upsample else None
        timed("paste (incl. parse, face upsampling)", lambda: helper.paste_faces_to_input_image(
            upsample_img=background, draw_box=False, face_upsampler=face_upsampler))
        run.faces = faces
    label = f"pipeline {os.path.basename(image_path)} upscale {arguments.upscale}"
    if arguments.background_enhance:
        label += " background"
    if arguments.face_upsample:
        label += " face-upsample"
    return run, label, stages


class TimedUpsampler:
    """`upsampler` with the seconds of each `enhance` reported, to time face upsampling inside paste-back."""
    def __init__(self, upsampler, report):
        self.upsampler, self.report = upsampler, report

    def enhance(self, *args, **kwargs):
        start = time.perf_counter()
        result = self.upsampler.enhance(*args, **kwargs)
        self.report(time.perf_counter() - start)
        return result


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
                "realesrgan": build_realesrgan, "pipeline": build_pipeline}
    results = []
    for name in arguments.networks:
        built = builders[name]()
        forward, label = built[0], built[1]
        forward()  # warm-up
        times = []
        for _ in range(arguments.runs):
            start = time.perf_counter()
            forward()
            times.append(time.perf_counter() - start)
        results.append({"network": label, "ms_median": statistics.median(times) * 1000, "runs": len(times)})
        if len(built) > 2:
            results[-1]["last_run_stages_s"] = {k: round(v, 3) for k, v in built[2].items()}
            results[-1]["faces"] = getattr(forward, "faces", None)
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
            if "last_run_stages_s" in result:
                line += f" ({result['faces']} faces; last run: " + ", ".join(f"{k} {v:.2f} s" for k, v in result["last_run_stages_s"].items()) + ")"
            if "speedup" in result:
                line += f"; facerestore {result['facerestore_ms_median']:.0f} ms = {result['speedup']:.2f}x faster"
            print(line)
    if not arguments.json:
        print(f"peak RSS (all networks in this process): {peak_rss_mb():.0f} MB, torch {torch.__version__}, {arguments.threads} threads")


if __name__ == "__main__":
    main()
