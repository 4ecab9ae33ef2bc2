# syntax=docker/dockerfile:1
# The LogSynergy image: the API pod (`logsynergy api`) and every Ray pod of the chart (head, workers and
# the autoscaler sidecar) run it. Ray comes from the project's own dependencies.
#   docker build -t logsynergy/logsynergy:0.1.0 .
#   docker build --build-arg TORCH_VARIANT=cu128 -t logsynergy/logsynergy:0.1.0-cuda .   # GPU workers
# TORCH_VARIANT names a wheel index under https://download.pytorch.org/whl/ (cpu, cu126, cu128, ...).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ARG TORCH_VERSION=2.13.0
ARG TORCH_VARIANT=cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_CONSTRAINT=/tmp/constraints.txt \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv \
 && echo "torch==${TORCH_VERSION}" > /tmp/constraints.txt \
 && pip install --index-url "https://download.pytorch.org/whl/${TORCH_VARIANT}" "torch==${TORCH_VERSION}"
WORKDIR /src
COPY pyproject.toml README.md ./
COPY platform/ platform/
COPY contracts/ contracts/
COPY api/ api/
COPY workers/ workers/
# The constraint keeps the torch build installed above (a dependency may not swap it for another one).
RUN pip install . \
 && python -c "import logsynergy, logsynergy_api, logsynergy_workers, ray, torch; print('torch', torch.__version__)"

FROM ${PYTHON_IMAGE}
# wget: KubeRay's default probes of Ray containers run `wget ... | grep success`.
# /etc/profile.d: KubeRay starts Ray through `bash -lc`, and Debian's /etc/profile resets PATH.
RUN apt-get update \
 && apt-get install -y --no-install-recommends wget \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1000 logsynergy \
 && useradd --uid 1000 --gid 1000 --create-home --shell /bin/bash logsynergy \
 && mkdir -p /data \
 && chown 1000:1000 /data \
 && echo 'export PATH="/opt/venv/bin:$PATH"' > /etc/profile.d/logsynergy-venv.sh
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    LOGSYNERGY_DATA_DIR=/data \
    LOGSYNERGY_API_HOST=0.0.0.0 \
    LOGSYNERGY_API_PORT=8080
USER 1000:1000
WORKDIR /home/logsynergy
EXPOSE 8080
CMD ["logsynergy", "api"]
