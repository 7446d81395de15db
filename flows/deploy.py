"""`python -m flows.deploy [ARGS]`: `prefect --no-prompt deploy ARGS` (default `--all`) from prefect.yaml.

Why not plain `prefect deploy`: after creating each deployment, Prefect 3.8's CLI asks the
server for the pool's online workers with an explicit `"limit": null` in the body, which the
server refuses (422) under the fastapi this project pins (<0.155, see constraints.txt), so
`--all` stops after the first deployment. Here the client sends the server's defaults instead.
And the parameter schemas it sends are the ones `flows.form.form_schema` fixes for the run form
(no null default the UI would send for an empty box; a Type for the settings).
"""
from __future__ import annotations

import functools
import sys

from prefect.client.orchestration import PrefectClient


def _send_paging_defaults(read_workers):
    @functools.wraps(read_workers)
    async def wrapper(self, work_pool_name, worker_filter=None, offset=None, limit=None):
        return await read_workers(self, work_pool_name, worker_filter, offset or 0, limit or 200)

    return wrapper


def _for_the_form(parameter_schema):
    @functools.wraps(parameter_schema)
    def wrapper(fn):
        from flows.form import form_schema

        schema = parameter_schema(fn)
        schema.properties = form_schema(schema.properties, schema.required)
        return schema

    return wrapper


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv) or ["--all"]
    PrefectClient.read_workers_for_work_pool = _send_paging_defaults(PrefectClient.read_workers_for_work_pool)
    from prefect.cli.deploy import _core

    _core.parameter_schema = _for_the_form(_core.parameter_schema)
    from prefect.cli import app

    sys.argv = ["prefect", "--no-prompt", "deploy", *args]  # the CLI reads its arguments from sys.argv
    return app() or 0


if __name__ == "__main__":
    sys.exit(main())
