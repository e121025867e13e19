"""Packaging for dbt-duckdb-postgres: DuckDB computes, PostgreSQL stores."""

import os

from setuptools import find_namespace_packages
from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _version() -> str:
    about: dict = {}
    with open(os.path.join(HERE, "dbt", "adapters", "duckdb_postgres", "__version__.py")) as f:
        exec(f.read(), about)
    return about["version"]


with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
    long_description = f.read()

setup(
    name="dbt-duckdb-postgres",
    version=_version(),
    description="dbt adapter where DuckDB computes and PostgreSQL stores",
    long_description=long_description,
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_namespace_packages(include=["dbt", "dbt.*"]),
    include_package_data=True,
    package_data={"dbt.include.duckdb_postgres": ["dbt_project.yml", "macros/**/*.sql"]},
    install_requires=[
        "dbt-core>=1.10,<1.12",
        "dbt-duckdb>=1.11,<1.12",
        "duckdb==1.5.5",
        "duckdb-extension-postgres-scanner==1.5.5",
        "psycopg[binary]>=3.1,<4",
        "pytz",
    ],
    extras_require={"embedded": ["pgserver>=0.1.4"]},
    classifiers=[
        "Programming Language :: Python :: 3.11",
        "License :: OSI Approved :: Apache Software License",
    ],
)
