from setuptools import find_packages, setup

# The Dagster family is pinned to one release: an unpinned install stalls pip's resolver,
# because the newest dagster often has no webserver of its own release yet.
DAGSTER = [
    "dagster==1.13.27",
    "dagster-webserver==1.13.27",
    "dagster-postgres==0.29.27",
    "dagster-dg-cli==1.13.27",
]

setup(
    name="amop_pipelines",
    version="0.1.0",
    description="Carrier-side operations of an IoT SIM fleet as a Dagster code location",
    packages=find_packages(exclude=["amop_pipelines_tests", "amop_pipelines_tests.*"]),
    package_data={"amop_pipelines": ["db/migrations/*.py", "db/migrations/versions/*.py", "db/alembic.ini"]},
    python_requires=">=3.10",
    install_requires=[
        *DAGSTER,
        "sqlalchemy>=2.0,<2.2",
        "alembic>=1.13",
        "psycopg2-binary>=2.9",
        "psycopg[binary]>=3.1",  # SQLAlchemy 2.1 takes postgresql:// URLs to psycopg 3
        "pandas>=2.2",
        "polars>=1.0",
        "pyarrow>=15",
        "numpy>=1.26",
        "scipy>=1.13",
        "httpx>=0.27",
        "tenacity>=8.2",
        "starlette>=0.37",
        "uvicorn>=0.29",
        "openpyxl>=3.1",
        "click>=8.1",
        "tzdata",
    ],
    extras_require={
        "test": [
            "pytest>=8",
            "hypothesis>=6.100",
            "pytest-timeout>=2.3",
            "aiosmtpd>=1.4",
            "playwright>=1.50",
            "pillow>=12",
            "pytest-xdist>=3.5",
            "dagster-celery==0.29.27",
            "redis>=5",
            # Verizon's generated ThingSpace SDK: the contract tests prove the simulator's and the
            # client's shapes against it (amop_pipelines_tests/carriers/test_thingspace_contract.py)
            "apimatic-verizon-sdk==1.0.0",
        ],
        # the Celery deployment profile (docs/GUIDE.md): steps on workers fed through RabbitMQ
        "celery": ["dagster-celery==0.29.27", "redis>=5"],
        "dev": ["ruff>=0.5"],
    },
    entry_points={"console_scripts": ["amop=amop_pipelines.cli:main"]},
)
