# One image for workers, dashboard and simulator (docker-compose.yml picks the command).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY stream ./stream
COPY dashboard ./dashboard
COPY simulators ./simulators
COPY sources ./sources
COPY config ./config
RUN useradd --system --uid 10001 callpulse && chown -R callpulse /app
USER callpulse
CMD ["python", "-m", "stream", "worker"]
