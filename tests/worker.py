"""Entry point of a worker process: ``python tests/worker.py dotted.function '[args...]'``.

Prints the function's result as JSON on the last line of stdout.
"""

import importlib
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "referral_site.settings.test")

import django

django.setup()

if __name__ == "__main__":
    module_name, function_name = sys.argv[1].rsplit(".", 1)
    function = getattr(importlib.import_module(module_name), function_name)
    result = function(*json.loads(sys.argv[2]))
    print(json.dumps(result))
