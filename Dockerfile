# The official Airflow image with the project's locked dependency set and the outreach package.
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:root requirements/production.txt /opt/outreach/requirements/production.txt
RUN pip install --no-cache-dir -r /opt/outreach/requirements/production.txt

COPY --chown=airflow:root pyproject.toml README.md /opt/outreach/
COPY --chown=airflow:root outreach /opt/outreach/outreach
RUN pip install --no-cache-dir --no-deps /opt/outreach
# Arrow picks its allocator when it first allocates, whichever module loads it first: named here, every
# process in the image has it (outreach/arrow_memory.py says why jemalloc).
ENV ARROW_DEFAULT_MEMORY_POOL=jemalloc

COPY --chown=airflow:root campaigns /opt/airflow/campaigns
COPY --chown=airflow:root segments.yaml /opt/airflow/segments.yaml
COPY --chown=airflow:root agencies.yaml /opt/airflow/agencies.yaml
COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins
