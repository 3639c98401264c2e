"""``python -m bench.worker dotted.function '[args]'``: one benchmark worker process with its own
database connection; prints the function's JSON result on its last line."""

import importlib
import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "referral_site.settings.base")

import django

django.setup()

if __name__ == "__main__":
    module_name, function_name = sys.argv[1].rsplit(".", 1)
    result = getattr(importlib.import_module(module_name), function_name)(*json.loads(sys.argv[2]))
    print(json.dumps(result))
