# One image for the web app and the workers. GPU workers use the same code with a CUDA build of
# PyTorch once the inference issue adds it.
# The browser app is built in its own stage; only its dist/ reaches the runtime image.
FROM node:20-bookworm-slim AS frontend
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend ./
RUN npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app/platform DERMRELAY_VAR_DIR=/var/lib/dermrelay
WORKDIR /app
RUN useradd --system --create-home --home-dir /var/lib/dermrelay dermrelay
COPY pyproject.toml requirements.lock manage.py ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY platform ./platform
COPY inference ./inference
COPY --from=frontend /frontend/dist ./frontend/dist
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
 && DERMRELAY_ENV=development python manage.py collectstatic --noinput --verbosity 0
USER dermrelay
EXPOSE 8000
CMD ["gunicorn", "dermrelay.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4", "--access-logfile", "-"]
