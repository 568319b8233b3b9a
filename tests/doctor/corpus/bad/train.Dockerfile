FROM pytorch/pytorch:2.3.1-cuda12.1-cudnn8-devel  # expect: DY105, DY501
WORKDIR /workspace
COPY pyproject.toml src/ ./
RUN pip install --no-cache-dir .  # expect: DY604
RUN WANDB_API_KEY=3f9c2a7b1e8d4c6f0a5b9e2d7c1f4a8b6e3d9c0f wandb login  # expect: DY302
RUN wget -q https://huggingface.co/TheBloke/Mistral-7B-v0.1-GGUF/resolve/main/mistral-7b.Q4_K_M.gguf -O /workspace/base.gguf  # expect: DY108
COPY checkpoints/ /workspace/checkpoints/  # expect: DY107
CMD ["torchrun", "--nproc_per_node=2", "train.py"]
