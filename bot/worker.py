"""``python -m bot.worker``: one webhook worker, started by ``python -m bot webhook`` when
``WEBHOOK_WORKERS`` > 1 (``bot/workers.py``), never by hand. Settings are read as the supervisor
read them; every way out is redacted and a failure is one line and a status, as for any
command."""

from __future__ import annotations

import sys

from bot.config import Settings
from bot.failures import report
from bot.guard import Guard
from bot.logs import setup_logging
from bot.redaction import Redactor, secrets_of


def main() -> int:
    redactor = Redactor()
    with Guard(redactor) as guard:
        database = ""
        try:
            from bot.workers import WorkerSpec, serve_worker

            spec = WorkerSpec.from_env()
            settings = Settings.load()
            redactor.add(secrets_of(settings.bot_token, settings.webhook_secret))
            guard.debug = settings.log_level == "DEBUG"
            database = str(settings.database_path)
            setup_logging(settings.log_level, guard.redactor, tag=f"worker {spec.index}")
            guard.run(serve_worker(settings, spec))
            return 0
        except (Exception, KeyboardInterrupt) as error:
            return report(error, redactor, debug=guard.debug, database=database)


if __name__ == "__main__":
    sys.exit(main())
