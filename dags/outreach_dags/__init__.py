"""Builders the DAG files share; ignored by the DAG processor itself (see ``.airflowignore``)."""
