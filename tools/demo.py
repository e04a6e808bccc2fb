#!/usr/bin/env python3
"""`make demo`: the whole comfylock loop on bundled fixtures, with no network.

A studio machine (fixtures/demo) has two workflows and some of their models. Loopback fakes
stand in for Civitai, the Hugging Face hub and the Comfy Registry (the same fakes the tests
use, answering in the real APIs' shapes), and a local git repository stands in for a
custom-node pack. The demo resolves the workflows into comfy.lock, checks it, then syncs a
fresh "GPU box" ComfyUI from nothing and shows that a second sync has nothing to do.
Last, the environment (SPEC §9): a ComfyUI git checkout and three node packs with Python
requirements are pinned too (wheels built here, served from a loopback index, locked and
installed by the real uv), and ``sync --install-comfyui`` builds a ComfyUI that starts from
an empty folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.fakes import (
    FakeCivitai,
    FakeHub,
    FakeRegistry,
    LoopbackServer,
    civitai_file,
    civitai_model,
)  # noqa: E402
from tests.support.hints import hint_args, hints  # noqa: E402

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the fakes' request log is noise here
OUT = ROOT / "demo-out"
EXE = str(Path(sys.executable).parent / "comfylock")
BOLD, RESET = (
    ("\033[1m", "\033[0m") if sys.stdout.isatty() and not os.environ.get("NO_COLOR") else ("", "")
)
DETAIL = b"demo stand-in for a detail LoRA\n"
INK = b"demo stand-in for an ink-wash style LoRA\n"


def run(*args: str, cwd: Path, ok=(0,)) -> str:
    """Run one command as a user would, show what it printed; return its stdout."""
    shown = " ".join(a if " " not in a else repr(a) for a in args)
    print(f"\n{BOLD}{_prompt('$ comfylock ' + shown)}{RESET}", flush=True)
    done = subprocess.run(
        [EXE, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    print(done.stdout, end="", flush=True)
    if done.returncode not in ok:
        sys.exit(f"demo: `comfylock {shown}` exited {done.returncode}")
    if done.returncode:
        print(f"(exit {done.returncode})")
    return done.stdout


def _prompt(line: str, width: int = 80) -> str:
    """A command as typed, broken between arguments with a shell continuation when wide."""
    out, current = [], ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) > width - 2:
            out.append(current + " \\")
            current = "    " + word
        else:
            current = f"{current} {word}" if current else word
    return "\n".join([*out, current])


def show_file(path: Path, shown: str) -> None:
    """A file printed whole, between a header and a footer (its lines are the file's own)."""
    text = path.read_text()
    print(f"\n{BOLD}$ cat {shown}{RESET}  ({len(text.splitlines())} lines)")
    print(text, end="" if text.endswith("\n") else "\n")
    print(f"(end of {shown})")


def git(*args: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "demo",
        "GIT_AUTHOR_EMAIL": "demo@localhost",
        "GIT_COMMITTER_NAME": "demo",
        "GIT_COMMITTER_EMAIL": "demo@localhost",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_pack(where: Path) -> Path:
    """A custom-node pack as a bare git repository, tagged v1.0.0."""
    work = where / "pack-src"
    work.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=work)
    (work / "__init__.py").write_text(
        'NODE_CLASS_MAPPINGS = {"Power Lora Loader (rgthree)": object}\n'
    )
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "demo pack 1.0.0", cwd=work)
    git("tag", "v1.0.0", cwd=work)
    bare = where / "demo-lora-pack.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=where)
    shutil.rmtree(work)
    return bare


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def bare_gpu_box(civitai, registry) -> None:
    """ComfyUI and every node pack's Python requirements pinned with the models, and a
    runnable ComfyUI built in an empty folder (the README's "From a bare GPU box")."""
    from tests.support.environment import (
        build_env_world,
        serve_env_world,
        serving_index,
        standard_packs,
    )

    base = OUT / "env"
    world = build_env_world(base, standard_packs(base / "INSTALL_SCRIPT_RAN"))
    serve_env_world(world, civitai, registry)
    project, box = world["project"], base / "bare-box" / "ComfyUI"
    box.parent.mkdir()
    os.environ["UV_CACHE_DIR"] = str(OUT / "uv-cache")
    print(f"\n{BOLD}# From a bare GPU box: ComfyUI and its Python packages too{RESET}")
    with serving_index(world["index"]) as index_url:
        (project / "comfylock.toml").write_text(f'[python]\nindex-url = "{index_url}"\n')
        run("resolve", "--comfyui-root", "../ComfyUI", cwd=project)
        run("sync", "--comfyui-root", "../../bare-box/ComfyUI", "--install-comfyui", cwd=project)
        run("sync", "--comfyui-root", "../../bare-box/ComfyUI", cwd=project)
    print(f"\n{BOLD}$ ../../bare-box/ComfyUI/.venv/bin/python main.py{RESET}", flush=True)
    subprocess.run([str(box / ".venv" / "bin" / "python"), str(box / "main.py")], check=True)


def main() -> int:
    global OUT
    if len(sys.argv) == 3 and sys.argv[1] == "--out":  # the tests run the demo elsewhere
        OUT = Path(sys.argv[2]).resolve()
    shutil.rmtree(OUT, ignore_errors=True)
    studio = OUT / "studio"
    shutil.copytree(ROOT / "fixtures" / "demo", studio)
    gpu_box = OUT / "gpu-box" / "ComfyUI"
    (gpu_box / "models").mkdir(parents=True)
    (gpu_box / "custom_nodes").mkdir()
    pack = make_pack(OUT / "git")
    base = (studio / "ComfyUI/models/checkpoints/sd_xl_base_1.0.safetensors").read_bytes()
    easyneg = (studio / "ComfyUI/models/embeddings/EasyNegative.safetensors").read_bytes()
    vae = (studio / "shared-models/vae/sdxl_vae.safetensors").read_bytes()

    with (
        LoopbackServer() as civ,
        LoopbackServer() as hub_srv,
        LoopbackServer() as cdn,
        LoopbackServer() as reg,
    ):
        civitai = FakeCivitai(civ)
        # what each model's Civitai page publishes: commercial use, and the words it answers to
        published = {
            101055: (["Image", "RentCivit", "Rent", "Sell"], []),
            7808: (["Image"], ["easynegative"]),
            122359: (["Image", "RentCivit"], []),
            200001: ([], ["ink wash style"]),
        }
        for mid, vid, fid, name, kind, data in [
            (101055, 128078, 128078, "sd_xl_base_1.0.safetensors", "Checkpoint", base),
            (7808, 9208, 9208, "EasyNegative.safetensors", "TextualInversion", easyneg),
            (122359, 135867, 148808, "detail_tweaker.safetensors", "LORA", DETAIL),
            (200001, 300001, 400001, "ink_wash.safetensors", "LORA", INK),
        ]:
            model = civitai.add(
                civitai_model(
                    mid,
                    name.split(".")[0],
                    kind,
                    [
                        (
                            vid,
                            "v1",
                            [
                                civitai_file(
                                    fid, name, size=len(data), sha256=sha(data), primary=True
                                )
                            ],
                        )
                    ],
                )
            )
            uses, words = published[mid]
            model.update(allowCommercialUse=uses, allowDerivatives=True, allowNoCredit=True)
            model["modelVersions"][0]["trainedWords"] = words
            civitai.downloads[vid] = data
        hub = FakeHub(hub_srv, cdn)
        hub.add_file(
            "stabilityai/sdxl-vae",
            "sdxl_vae.safetensors",
            commit="6f5909a7e596173e25d4e97b07fd19cdf9611c76",
            content=vae.decode(),
        )
        hub.cards["stabilityai/sdxl-vae"] = {"cardData": {"license": "mit"}}
        registry = FakeRegistry(reg)
        registry.add_node("demo-lora-pack", str(pack), "1.0.0", ["Power Lora Loader (rgthree)"])
        os.environ.update(
            {
                "COMFYLOCK_CIVITAI_URL": civitai.base_url,
                "HF_ENDPOINT": hub.base_url,
                "COMFYLOCK_REGISTRY_URL": registry.base_url,
                "COMFYLOCK_CACHE_DIR": str(OUT / "cache"),
                "COMFYLOCK_STORE": str(OUT / "store"),
            }
        )
        for secret in ("CIVITAI_API_KEY", "HF_TOKEN"):
            os.environ.pop(secret, None)
        print("loopback fakes (no network):")
        for what, url in (("Civitai", civitai), ("hub", hub), ("registry", registry)):
            print(f"  {what:<9}{url.base_url}")

        box = "../gpu-box/ComfyUI"  # relative to the studio project, where every command runs
        run("inspect", "workflows", cwd=studio)
        run("--comfyui-root", "ComfyUI", "report", "workflows", cwd=studio, ok=(0, 1))
        run("--comfyui-root", "ComfyUI", "resolve", cwd=studio)
        run("check", cwd=studio)
        # the CI recipe (docs/guide/ci.md): --strict rejects pins by file name only, and
        # says how to pin each by hand; the demo runs exactly what it says
        weak = run("check", "--strict", cwd=studio, ok=(1,))
        for command in hints(weak):
            run(*hint_args(command), cwd=studio)
        run("check", "--strict", cwd=studio)
        show_file(studio / "comfy.lock", "comfy.lock")
        run("--comfyui-root", box, "status", cwd=studio)
        run("sync", "--comfyui-root", box, cwd=studio)
        run("sync", "--comfyui-root", box, cwd=studio)
        run("check", "--installed", "--comfyui-root", box, cwd=studio)
        run("doctor", "--comfyui-root", box, cwd=studio, ok=(0, 1))
        run("report", "--licenses", cwd=studio)
        run("check", "--deny-license", "cc-by-nc-*", cwd=studio)
        run("du", "--comfyui-root", box, cwd=studio)
        bare_gpu_box(civitai, registry)

    def shown(p: Path) -> str:
        return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)

    exe = "../../.venv/bin/comfylock" if OUT == ROOT / "demo-out" else EXE
    # NOTE: the demo used its own store and cache; without these, comfylock in the demo folder
    # would look at the user's default store and propose to adopt what the demo placed.
    print(
        "\ndemo finished:\n"
        f"  the studio project: {shown(studio)}/\n"
        f"  the synced machine: {shown(gpu_box)}/\n"
        "to look around with the demo's own store and cache:\n"
        f"  cd {shown(studio)}\n"
        f"  export COMFYLOCK_STORE={OUT / 'store'}\n"
        f"  export COMFYLOCK_CACHE_DIR={OUT / 'cache'}\n"
        f"  {exe} status --comfyui-root ../gpu-box/ComfyUI"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
