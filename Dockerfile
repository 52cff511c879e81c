# Production image: gunicorn serves the web process; the same image runs the Celery
# worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput --verbosity 0 \
    && useradd --system --home /app quimbi && mkdir -p /app/var && chown -R quimbi /app/var
USER quimbi

EXPOSE 8001
# Workers, threads and the rest: gunicorn.conf.py (measured on 2 cores; WEB_CONCURRENCY).
CMD ["gunicorn", "quimbi_support.wsgi", "-c", "gunicorn.conf.py"]
