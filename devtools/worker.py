"""``python -m devtools.worker dotted.function '[args...]'``: one worker process with its own
database connection, for the concurrency tests and the benchmarks. Prints the function's
result as JSON on the last line of stdout. DJANGO_SETTINGS_MODULE comes from the environment
(the tests set theirs); the default is the base settings."""

import importlib
import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "referral_site.settings.base")

import django

from devtools import embedded_postgres

embedded_postgres.use_if_unset()

django.setup()

if __name__ == "__main__":
    module_name, function_name = sys.argv[1].rsplit(".", 1)
    function = getattr(importlib.import_module(module_name), function_name)
    print(json.dumps(function(*json.loads(sys.argv[2]))))
