"""One module per deployed function (see CONTRIBUTING.md)."""

import os
import sys

from shared.collector import pause_collection

# Before the function's own imports: the collector resumes when its app is built (shared/collector.py).
pause_collection()

# Inside Lambda the runtime dependencies ship beside the code, in the folder
# scripts/build_lambda_deps.py fills (serverless.yml packages it); make them importable first.
_LAMBDA_DEPS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".ugig", "lambda-deps")
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and os.path.isdir(_LAMBDA_DEPS) and _LAMBDA_DEPS not in sys.path:
    sys.path.insert(1, _LAMBDA_DEPS)
