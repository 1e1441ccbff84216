"""extraArgs parsed as each engine parses them (tiers/vllm.py resolve_flag, tiers/tgi.py resolve_flag), before
the guarded-flag check: vLLM's FlexibleArgumentParser + argparse prefixes, TGI's clap (exact names, env)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_tiers.cli import vllm_flags
from llm_tiers.tiers import engines, tgi, vllm


@pytest.mark.parametrize("arg, flag", [
    ("--max_model_len=65536", "--max-model-len"),                               # _ is -
    ("--override-generation-config.max_new_tokens=32768", "--override-generation-config"),  # dotted key folded
    ("--override_generation_config.max_new_tokens+=1", "--override-generation-config"),
    ("--tensor-parallel=2", "--tensor-parallel-size"),                           # unambiguous prefix
    ("--tensor_parallel_s=2", "--tensor-parallel-size"),
    ("--gpu-memory=0.99", "--gpu-memory-utilization"),
    ("--served-model=x", "--served-model-name"),
    ("--config=/tmp/args.yaml", "--config"),                                     # arguments from a file
])
def test_vllm_spellings_of_guarded_flags_are_guarded(arg, flag):
    assert vllm.resolve_flag(arg) == (flag, None)
    assert [f.split(" ")[0] for _, f in vllm.guarded_extra_args(["--enforce-eager", arg])] == [flag]


def test_vllm_refuses_what_argparse_refuses_and_keeps_what_it_takes():
    assert vllm.resolve_flag("--enforce_eager") == ("--enforce-eager", None)
    assert vllm.resolve_flag("--no-enable-prefix-caching") == ("--no-enable-prefix-caching", None)
    assert vllm.resolve_flag("--compilation-config.cudagraph_mode=FULL") == ("--compilation-config", None)
    flag, why = vllm.resolve_flag("--max-num=8")
    assert flag is None and "ambiguous" in why and "--max-num-seqs" in why
    flag, why = vllm.resolve_flag("--max-model-len 4096")   # one argv element: no such option
    assert flag is None and "has no option" in why
    assert vllm.unknown_extra_args(["--enforce-eager", "--no-such-flag=1"]) == [(1,
                                                                                 vllm.resolve_flag("--no-such-flag")[1])]


def test_tgi_takes_exact_names_only():
    assert tgi.resolve_flag("--max-waiting-tokens=20") == ("--max-waiting-tokens", None)
    for arg in ("--max_total_tokens=9000", "--max-total=9000", "--max-total-tokens 9000"):
        flag, why = tgi.resolve_flag(arg)
        assert flag is None and "has no option" in why, arg
    assert "did you mean --max-total-tokens?" in tgi.resolve_flag("--max_total_tokens=1")[1]


def test_tgi_env_variables_that_set_launcher_flags():
    env = [{"name": "HF_HOME", "value": "/data"}, {"name": "MAX_TOTAL_TOKENS", "value": "9"},
           {"name": "MAX_WAITING_TOKENS", "value": "20"}, {"name": "CUDA_MEMORY_FRACTION", "value": "0.5"}]
    assert tgi.env_flag("MAX_WAITING_TOKENS") == "--max-waiting-tokens" and tgi.env_flag("HF_HOME") is None
    assert tgi.guarded_env(env) == [(1, "--max-total-tokens"), (3, "--cuda-memory-fraction")]


def test_foreign_flags_are_told_apart_from_unknown_ones():
    assert engines.foreign_extra_args("vllm", ["--max-waiting-tokens=20", "--enforce-eager"]) == [(0,
                                                                                                   "--max-waiting-tokens")]
    assert engines.unknown_extra_args("vllm", ["--max-waiting-tokens=20", "--nope"]) == [(1,
                                                                                          vllm.resolve_flag("--nope")[1])]


def test_a_release_image_belongs_to_its_engine():
    assert engines.image_engine_problem("vllm", "ghcr.io/huggingface/text-generation-inference:3.3.6")
    assert engines.image_engine_problem("tgi", "docker.io/vllm/vllm-openai:v0.33.0")
    assert engines.image_engine_problem("vllm", "registry.example.com/other/app:1")
    ecr = "111122223333.dkr.ecr.us-east-1.amazonaws.com"
    assert engines.image_engine_problem("vllm", f"{ecr}/vllm-openai:v0.33.1") is None
    assert engines.image_engine_problem("tgi", "ghcr.io/huggingface/text-generation-inference@sha256:" + "a" * 64) \
        is None


def test_the_committed_vllm_option_list_is_the_pinned_release_and_covers_every_flag_we_name():
    doc = json.loads((Path(vllm.__file__).parent / "vllm_flags.json").read_text())
    assert doc["vllm"] == vllm.VERSION
    known = set(doc["long"]) | set(doc["short"])
    assert vllm.SERVER_FLAGS <= known, sorted(vllm.SERVER_FLAGS - known)
    assert len(doc["long"]) > 300


def test_the_option_list_generator_reads_what_argparse_would_register(tmp_path):
    (tmp_path / "vllm/engine").mkdir(parents=True)
    (tmp_path / "vllm/entrypoints/common").mkdir(parents=True)
    (tmp_path / vllm_flags.ENGINE_FILE).write_text(
        "import argparse\n@dataclass\nclass EngineArgs:\n    enforce_eager: bool = False\n    seed: int | None = None\n"
        "    def add_cli_args(p):\n        g.add_argument('--enforce-eager', **model_kwargs['enforce_eager'])\n"
        "        g.add_argument('--seed', '-s', **model_kwargs['seed'])\n"
        "        g.add_argument('--x', action=argparse.BooleanOptionalAction)\n")
    (tmp_path / vllm_flags.SERVER_FILE).write_text(
        "class BaseFrontendArgs:\n    enable_log: bool = False\n    opt: bool | str | None = None\n"
        "class FrontendArgs(BaseFrontendArgs):\n    port: int = 8000\n"
        "def make_arg_parser(parser):\n    parser.add_argument('--headless', action='store_true')\n")
    got = vllm_flags.options(tmp_path)
    assert got["long"] == sorted(["--enforce-eager", "--no-enforce-eager", "--seed", "--x", "--no-x", "--enable-log",
                                  "--no-enable-log", "--opt", "--port", "--headless", "--help"])
    assert got["short"] == ["-h", "-s"]
