# A "works on my machine" LLM server: one stage, CUDA devel, secrets and weights baked in.
FROM nvidia/cuda:12.1.1-cudnn8-devel-ubuntu22.04  # expect: DY105, DY501
ENV HF_TOKEN=hf_kT3mW9pQxZ2vL8nR4bY7cJ1sD6fG0hA5eU  # expect: DY301
ENV TOKENIZERS_PARALLELISM=false MAX_NEW_TOKENS=512 MAX_INPUT_TOKENS=4096
RUN apt-get update && apt-get install -y python3-pip python3-dev build-essential git sudo  # expect: DY102, DY104, DY106, DY502
RUN pip3 install torch transformers accelerate vllm  # expect: DY103, DY602
WORKDIR /app
COPY .env /app/.env  # expect: DY303
COPY ./models /app/models  # expect: DY107
RUN python3 -c "from transformers import AutoModel; AutoModel.from_pretrained('meta-llama/Llama-3.1-8B')"  # expect: DY108
COPY . /app
RUN chmod -R 777 /app  # expect: DY503
EXPOSE 8000
HEALTHCHECK CMD nc -z localhost 8000 || exit 1  # expect: DY402, DY403
CMD ["python3", "-m", "vllm.entrypoints.openai.api_server", "--model", "/app/models/llama"]
