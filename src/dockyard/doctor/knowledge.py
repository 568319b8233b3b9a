"""Facts the rules share: package names, image names, file patterns. Data, not logic."""

from __future__ import annotations

import re

# Packages that compile things; they belong in a builder stage.
BUILD_PACKAGE = re.compile(
    r"^(build-essential|build-base|gcc|g\+\+|(gcc|g\+\+|clang)-\d+|clang|llvm|make|cmake|"
    r"ninja-build|gfortran|cargo|rustc|golang(-go)?|cuda-toolkit.*|cuda-nvcc.*|musl-dev|"
    r"python3?(\.\d+)?-dev|lib[\w.+-]+-dev|[\w.+-]+-devel)$"
)
COMPILE_COMMANDS = frozenset(
    {"gcc", "g++", "cc", "make", "cmake", "ninja", "cargo", "nvcc", "rustc", "go"}
)
# Model weight files, by extension, and folder names that hold them.
WEIGHT_FILE = re.compile(
    r"\.(safetensors|bin|pt|pth|ckpt|gguf|ggml|onnx|h5|keras|tflite|engine|plan)$", re.I
)
WEIGHT_DIR = re.compile(r"^(\./)?(models?|weights|checkpoints?|ckpts?)/?$", re.I)
WEIGHT_DOWNLOAD = re.compile(
    r"huggingface-cli\s+download|\bhf\s+download|snapshot_download|hf_hub_download|"
    r"from_pretrained\(|huggingface\.co/[^\s]+/resolve/|git\s+clone\s+\S*huggingface\.co|"
    r"git\s+lfs\s+pull|ollama\s+pull|"
    r"(curl|wget)\s[^|;&]*\.(safetensors|gguf|bin|pt|pth|ckpt|onnx)\b"
)
# Services that should not listen on every host interface.
INTERNAL_IMAGE = re.compile(
    r"(^|/)(postgres|pgvector|mysql|mariadb|mongo|redis|valkey|memcached|rabbitmq|kafka|"
    r"zookeeper|nats|etcd|elasticsearch|opensearch|qdrant|weaviate|milvus|chroma|chromadb|"
    r"clickhouse|cassandra|neo4j|minio|influxdb)(:|@|$|-)",
    re.I,
)
# Base images known to ship without curl (and, for most, without wget and nc).
NO_CURL_IMAGE = re.compile(
    r"slim|alpine|distroless|cgr\.dev|chainguard|ubi\d*-(minimal|micro)|^scratch$|"
    r"^(nvidia/cuda|ubuntu|debian|dockyard-local/)|(^|/)(qdrant|redis|postgres)(:|$)",
    re.I,
)
NO_WGET_IMAGE = re.compile(
    r"slim|distroless|cgr\.dev|chainguard|ubi\d*-(minimal|micro)|^scratch$|"
    r"^(nvidia/cuda|ubuntu|debian|dockyard-local/)|(^|/)(qdrant|redis|postgres)(:|$)",
    re.I,
)
NONROOT_IMAGE = re.compile(r"nonroot|cgr\.dev/|chainguard", re.I)
CUDA_DEVEL = re.compile(r"(nvidia/cuda|pytorch/pytorch|cuda)[^\s]*[:-][^\s]*devel", re.I)
# Commands that mean "this container serves traffic".
SERVER = re.compile(
    r"uvicorn|gunicorn|hypercorn|fastapi|flask\s+run|streamlit|gradio|vllm|tritonserver|"
    r"text-generation-launcher|torchserve|bentoml\s+serve|mlflow\s+models\s+serve|"
    r"dockyard\.runtime\s+serve|ray\s+serve|litserve|ollama\s+serve|http\.server|\bserve\b"
)
# Hints that a container runs PyTorch data loading or multi-process GPU work.
TORCH_WORKLOAD = re.compile(
    r"pytorch|torchrun|deepspeed|accelerate\s+launch|num[_-]workers|dataloader|vllm|"
    r"text-generation-inference|\btrain(ing)?(\.py)?\b|\bfinetune\b",
    re.I,
)
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915")
