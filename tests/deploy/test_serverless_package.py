"""serverless.yml, packaged for real by the Serverless Framework v3 line (osls, pinned in
deploy/package.json) with no AWS account: telemetry off, dummy credentials, strict config validation.

First run: npm installs osls into .ugig/node (about 20 s) and pip downloads the runtime dependencies
as manylinux wheels for python3.12 into .ugig/lambda-deps (about 25 s; needs PyPI). Both are cached
(keyed by the lockfile and by pyproject.toml's dependencies), so later runs take seconds.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

# A cold cache installs osls and downloads the wheels first: more than the default per-test limit.
pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / ".ugig"
NODE_DIR = LOCAL / "node"
DEPLOY_DIR = ROOT / "deploy"

sys.path.insert(0, str(ROOT / "scripts"))
import build_lambda_deps  # noqa: E402
import gen_serverless_routes  # noqa: E402

# The contract's routes (../shared/CONTRACT.md, "Routes"), as API Gateway route keys.
CONTRACT_ROUTES = {
    # auth
    "POST /api/v1/auth/signup", "POST /api/v1/auth/signin", "POST /api/v1/auth/refresh",
    "POST /api/v1/auth/signout", "POST /api/v1/auth/reset-password", "POST /api/v1/auth/update-password",
    # profiles
    "GET /api/v1/profiles/{username}", "GET /api/v1/profiles/me", "PATCH /api/v1/profiles/me",
    "POST /api/v1/profiles/me/avatar", "PUT /api/v1/profiles/me/availability",
    # gigs and categories
    "GET /api/v1/gigs", "GET /api/v1/gigs/{id}", "POST /api/v1/gigs", "PATCH /api/v1/gigs/{id}",
    "DELETE /api/v1/gigs/{id}", "PUT /api/v1/gigs/{id}/status", "GET /api/v1/me/gigs",
    "PUT /api/v1/gigs/{id}/save", "DELETE /api/v1/gigs/{id}/save", "GET /api/v1/me/saved-gigs",
    "GET /api/v1/categories",
    # applications
    "POST /api/v1/applications", "POST /api/v1/applications/{id}/withdraw", "GET /api/v1/me/applications",
    "GET /api/v1/gigs/{id}/applications", "PUT /api/v1/applications/{id}/status",
    "POST /api/v1/applications/bulk-status",
    # messaging
    "POST /api/v1/conversations", "GET /api/v1/conversations", "GET /api/v1/conversations/{id}/messages",
    "POST /api/v1/conversations/{id}/messages", "POST /api/v1/conversations/{id}/read", "POST /api/v1/attachments",
    # subscriptions and billing
    "GET /api/v1/subscription", "POST /api/v1/subscription/checkout", "POST /api/v1/subscription/portal",
    "GET /api/v1/subscription/usage", "POST /api/v1/subscription/cancel", "POST /api/webhooks/stripe",
    # video calls, reviews, notifications
    "POST /api/v1/calls", "GET /api/v1/calls/upcoming", "GET /api/v1/calls/history", "POST /api/v1/calls/{id}/end",
    "POST /api/v1/reviews", "GET /api/v1/users/{id}/reviews", "GET /api/v1/users/{id}/rating",
    "GET /api/v1/notifications", "POST /api/v1/notifications/{id}/read", "POST /api/v1/notifications/read-all",
    "GET /api/v1/notifications/unread-count",
    # organizations and invitations
    "POST /api/v1/organizations", "GET /api/v1/me/organizations", "GET /api/v1/organizations/{id}",
    "PATCH /api/v1/organizations/{id}", "DELETE /api/v1/organizations/{id}", "GET /api/v1/organizations/{id}/members",
    "PATCH /api/v1/organizations/{id}/members/{user_id}", "DELETE /api/v1/organizations/{id}/members/{user_id}",
    "POST /api/v1/organizations/{id}/invitations", "GET /api/v1/organizations/{id}/invitations",
    "DELETE /api/v1/organizations/{id}/invitations/{inv_id}", "POST /api/v1/invitations/{id}/accept",
    "POST /api/v1/invitations/{id}/decline", "POST /api/v1/organizations/{id}/categories",
    "PATCH /api/v1/categories/{id}", "DELETE /api/v1/categories/{id}",
    # platform administration
    "GET /api/v1/admin/users", "GET /api/v1/admin/users/{id}", "GET /api/v1/admin/users/by-email/{email}",
    "POST /api/v1/admin/users", "PATCH /api/v1/admin/users/{id}", "DELETE /api/v1/admin/users/{id}",
    "GET /api/v1/admin/organizations", "POST /api/v1/admin/organizations", "GET /api/v1/admin/organizations/{id}",
    "PATCH /api/v1/admin/organizations/{id}", "DELETE /api/v1/admin/organizations/{id}",
    "POST /api/v1/admin/export/users", "POST /api/v1/uploads", "GET /api/health", "POST /api/cron/cleanup",
}  # fmt: skip
# Routes the contract leaves to us ("extra routes are yours to design"). Adding one: list it here.
EXTRA_ROUTES = {
    "GET /api/v1/me/invitations",  # the caller's pending invitations (issue 6)
}
# The contract's settings: every function gets each from the deploy-time environment.
CONTRACT_SETTINGS = (
    "UGIG_ENV", "DATABASE_URL", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_JWT_SECRET",
    "SUPABASE_JWKS_URL", "AUTH_BACKEND", "STORAGE_BACKEND", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET",
    "STRIPE_PRO_PRICE_ID", "APP_BASE_URL", "CRON_SECRET", "FREE_PLAN_MONTHLY_POSTS", "VIDEO_CALL_BASE_URL",
)  # fmt: skip
SECRETS = ("DATABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "CRON_SECRET")
# What the deploying shell would export; dummies, recognisable in the generated template.
DEPLOY_ENV = {
    "DATABASE_URL": "postgresql://dummy-user:dummy-password@127.0.0.1:6543/postgres",
    "SUPABASE_URL": "https://dummy-project.supabase.co",
    "SUPABASE_ANON_KEY": "dummy-anon-key",
    "SUPABASE_SERVICE_ROLE_KEY": "dummy-service-role-key",
    "STRIPE_SECRET_KEY": "sk_test_dummy",
    "STRIPE_WEBHOOK_SECRET": "whsec_dummy",
    "STRIPE_PRO_PRICE_ID": "price_dummy",
    "APP_BASE_URL": "https://app.example.test",
    "CRON_SECRET": "dummy-cron-secret",
}
LOCAL_ONLY = ("tests/", "bench/", "devtools/", "supabase/", "scripts/", "deploy/", ".venv/", "docs/", "node_modules/")


def normalize(route_key: str) -> str:
    """Parameter names are the code's business; the contract fixes methods and path shapes."""
    return re.sub(r"\{[^}]+\}", "{}", route_key)


def function_modules() -> dict[str, Any]:
    return {name: importlib.import_module(f"functions.{name}") for name in gen_serverless_routes.function_routes()}


def app_routes() -> set[str]:
    """The composed app's routes (functions/app.py), local-only helpers aside."""
    from functions.app import discover_routers

    return {
        f"{method} {route.path}"
        for router in discover_routers()
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
        if method != "HEAD"
    }


# -------------------------------------------------------------------------------------- packaging


@contextmanager
def _locked(name: str) -> Iterator[None]:
    """Two test runs on one checkout share the caches: one fills them, the other waits."""
    LOCAL.mkdir(exist_ok=True)
    with open(LOCAL / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _serverless_cli() -> Path:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the Serverless Framework (osls, from the npm registry) cannot run")
    manifest = [DEPLOY_DIR / "package.json", DEPLOY_DIR / "package-lock.json"]
    stamp = hashlib.sha256(b"".join(p.read_bytes() for p in manifest)).hexdigest()
    cli = NODE_DIR / "node_modules" / "osls" / "bin" / "serverless.js"
    stamp_file = NODE_DIR / ".stamp"
    with _locked("node"):
        if cli.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
            return cli
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        for path in manifest:
            shutil.copy2(path, NODE_DIR / path.name)
        subprocess.run(
            [npm, "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            check=True,
            timeout=600,
        )
        stamp_file.write_text(stamp)
    return cli


def _lambda_deps() -> Path:
    with _locked("lambda-deps"):
        return build_lambda_deps.build()


def _copy_checkout(target: Path, deps: Path) -> None:
    # Everything a checkout holds, tests and local tooling included (the package must leave them out),
    # but no caches; the dependencies are hard links to the cached build where the filesystem allows.
    shutil.copytree(
        ROOT,
        target,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", ".ugig", "node_modules", ".serverless", ".mypy_cache", ".ruff_cache", "__pycache__"
        ),
    )

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(deps, target / ".ugig" / "lambda-deps", copy_function=link_or_copy)


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cli = _serverless_cli()
    node = shutil.which("node")
    assert node is not None, "npm is installed but node is not"
    deps = _lambda_deps()
    service = tmp_path_factory.mktemp("service") / "ugig"
    _copy_checkout(service, deps)
    build_lambda_deps.compile_sources(service)  # what build_lambda_deps.py does before every packaging
    home = tmp_path_factory.mktemp("home")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),  # the framework keeps its own config there; not the developer's
        "SLS_TELEMETRY_DISABLED": "1",
        "SLS_NOTIFICATIONS_MODE": "off",
        "SLS_DEPRECATION_DISABLE": "*",
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "dummy-secret-access-key",
        "AWS_REGION": "eu-west-1",
        **DEPLOY_ENV,
    }
    result = subprocess.run(
        [node, str(cli), "package", "--stage", "test"],
        cwd=service,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return service / ".serverless"


@pytest.fixture(scope="module")
def template(packaged: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((packaged / "cloudformation-template-update-stack.json").read_text())
    return loaded


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _handlers(template: dict[str, Any]) -> dict[str, str]:
    """Lambda logical id -> handler module name."""
    handlers = {}
    for logical_id, resource in _resources(template, "AWS::Lambda::Function").items():
        file_part, _, attribute = resource["Properties"]["Handler"].rpartition(".")
        assert attribute == "handler"
        assert file_part.startswith("functions/")
        handlers[logical_id] = file_part.removeprefix("functions/")
    return handlers


# ------------------------------------------------------------------------------------------ tests


def test_serverless_yml_is_generated_from_the_current_routers() -> None:
    text = (ROOT / "serverless.yml").read_text()
    assert gen_serverless_routes.current_section(text) == gen_serverless_routes.render(), (
        "serverless.yml is out of date: run .venv/bin/python scripts/gen_serverless_routes.py --write"
    )


def test_serverless_yml_is_strict_and_holds_no_secret() -> None:
    text = (ROOT / "serverless.yml").read_text()
    assert re.search(r"^configValidationMode: error$", text, re.M)
    assert re.search(r"^  runtime: python3\.12$", text, re.M)
    for name in SECRETS:
        # Required from the deploying environment: no default, so a missing secret stops packaging.
        assert re.search(rf"^    {name}: \$\{{env:{name}\}}(\s+#.*)?$", text, re.M), name


def test_every_function_module_is_a_python312_lambda_with_its_handler(template: dict[str, Any]) -> None:
    handlers = _handlers(template)
    assert sorted(handlers.values()) == sorted(function_modules())
    modules = function_modules()
    for logical_id, name in handlers.items():
        properties = template["Resources"][logical_id]["Properties"]
        assert properties["Runtime"] == "python3.12"
        assert (ROOT / "functions" / f"{name}.py").is_file()
        assert callable(modules[name].handler)


def test_the_http_routes_are_the_contracts_and_reach_the_module_that_serves_them(
    template: dict[str, Any],
) -> None:
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]["Target"]
        for r in _resources(template, "AWS::ApiGatewayV2::Route").values()
    }
    deployed = set(routes)

    assert deployed == app_routes(), "serverless.yml and the composed app disagree"
    missing = {normalize(r) for r in CONTRACT_ROUTES} - {normalize(r) for r in deployed}
    assert not missing, f"contract routes not deployed: {sorted(missing)}"
    unexpected = {normalize(r) for r in deployed} - {normalize(r) for r in CONTRACT_ROUTES | EXTRA_ROUTES}
    assert not unexpected, f"routes beyond the contract (list them in EXTRA_ROUTES): {sorted(unexpected)}"

    handlers = _handlers(template)
    integrations = _resources(template, "AWS::ApiGatewayV2::Integration")
    served = gen_serverless_routes.function_routes()
    for route_key, target in routes.items():
        integration_id = target["Fn::Join"][1][1]["Ref"]
        function_id = integrations[integration_id]["Properties"]["IntegrationUri"]["Fn::GetAtt"][0]
        method, path = route_key.split(" ", 1)
        assert (method, path) in served[handlers[function_id]], f"{route_key} goes to {handlers[function_id]}"


def test_the_cleanup_function_runs_on_its_schedules(template: dict[str, Any]) -> None:
    from functions.cleanup import is_schedule_event
    from shared.services import cleanup

    rules = list(_resources(template, "AWS::Events::Rule").values())
    handlers = _handlers(template)
    targets = {handlers[t["Arn"]["Fn::GetAtt"][0]] for rule in rules for t in rule["Properties"]["Targets"]}
    assert targets == {"cleanup"}, "only the cleanup cron runs on a schedule"

    by_rate = {rule["Properties"]["ScheduleExpression"]: rule["Properties"]["Targets"][0] for rule in rules}
    assert set(by_rate) == {"rate(1 hour)", "rate(5 minutes)"}
    assert "Input" not in by_rate["rate(1 hour)"], "the hourly rule runs the whole job"
    reminders = json.loads(by_rate["rate(5 minutes)"]["Input"])
    assert is_schedule_event(reminders)
    assert [t.name for t in cleanup.select_tasks(reminders["detail"]["tasks"])] == ["send_call_reminders"]


def test_every_function_gets_every_setting_from_the_deploy_environment(template: dict[str, Any]) -> None:
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    for resource in _resources(template, "AWS::Lambda::Function").values():
        variables = resource["Properties"]["Environment"]["Variables"]
        assert set(CONTRACT_SETTINGS) <= set(variables)
        assert set(variables) <= documented, f"not in .env.example: {sorted(set(variables) - documented)}"
        assert variables["UGIG_ENV"] == "production"
        for name in SECRETS:
            assert variables[name] == DEPLOY_ENV[name], f"{name} is not the deploying shell's value"


def test_the_package_holds_our_code_and_its_dependencies_and_no_tests(packaged: Path) -> None:
    with zipfile.ZipFile(packaged / "ugig.zip") as archive:
        names = archive.namelist()
    assert not [n for n in names if n.startswith(LOCAL_ONLY) or n in ("serverless.yml", "pyproject.toml")]
    # Bytecode only for the runtime's CPython (no stray caches of this machine's Python).
    assert not [n for n in names if n.endswith(".pyc") and not re.search(r"/__pycache__/[^/]+\.cpython-312\.pyc$", n)]
    assert not [n for n in names if "__pycache__" in n and not n.endswith(".pyc")]
    ours = {str(p.relative_to(ROOT)) for d in ("functions", "shared") for p in (ROOT / d).rglob("*.py")}
    assert ours <= set(names), sorted(ours - set(names))[:5]
    assert {n.split("/")[0] for n in names} == {"functions", "shared", ".ugig"}
    deps = [n.removeprefix(".ugig/lambda-deps/") for n in names if n.startswith(".ugig/lambda-deps/")]
    for package in ("fastapi/__init__.py", "mangum/__init__.py", "psycopg/__init__.py", "stripe/__init__.py"):
        assert package in deps
    # Compiled for the Lambda runtime's CPython, not this machine's.
    assert any(re.match(r"pydantic_core/_pydantic_core\.cpython-312-x86_64-linux-gnu\.so$", n) for n in deps)
    assert any(n.startswith("psycopg_binary/_psycopg.cpython-312-x86_64-linux-gnu") for n in deps)


def _python312() -> str | None:
    candidates = [shutil.which("python3.12"), *sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))]
    for candidate in candidates:
        if candidate and subprocess.run([str(candidate), "-c", "0"], capture_output=True, check=False).returncode == 0:
            return str(candidate)
    return None


def _pyc_header(python: str) -> bytes:
    magic = subprocess.run(
        [python, "-c", "import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return bytes.fromhex(magic)


def test_the_package_ships_python312_bytecode_for_every_module(packaged: Path) -> None:
    """Lambda cannot write __pycache__ in its task folder: without shipped bytecode every cold start
    compiles every module it imports. Dependencies never change within a package (unchecked hash);
    our code is checked against its source, so an edit after compiling is never run stale."""
    python = _python312()
    if python is None:
        pytest.skip("no CPython 3.12 on this machine: the build ships sources only")
    magic = _pyc_header(python)
    with zipfile.ZipFile(packaged / "ugig.zip") as archive:
        names = set(archive.namelist())
        for source in sorted(n for n in names if n.endswith(".py")):
            folder, _, file = source.rpartition("/")
            pyc = f"{folder}/__pycache__/{file.removesuffix('.py')}.cpython-312.pyc"
            assert pyc in names, f"no bytecode for {source}"
            header = archive.read(pyc)[:8]
            assert header[:4] == magic, pyc
            flags = int.from_bytes(header[4:8], "little")
            # PEP 552: bit 0 = hash-based, bit 1 = check the source.
            expected = 0b01 if source.startswith(".ugig/lambda-deps/") else 0b11
            assert flags == expected, (pyc, flags)


def test_the_package_answers_an_api_gateway_event_on_python312(packaged: Path, tmp_path: Path) -> None:
    """The zip alone, on CPython 3.12 without site-packages, the way Lambda loads it, compiling
    nothing: every module it imports comes from the shipped bytecode."""
    python = _python312()
    if python is None:
        pytest.skip("no CPython 3.12 on this machine to load the package with")
    task_root = tmp_path / "task"
    with zipfile.ZipFile(packaged / "ugig.zip") as archive:
        archive.extractall(task_root)
    event = (ROOT / "tests" / "events" / "apigw_v2_get_health.json").read_text()
    script = (
        "import json, sys\n"
        "from importlib.machinery import SourceFileLoader\n"
        "compiled = []\n"
        "to_code = SourceFileLoader.source_to_code\n"
        "def recording(self, data, path, *args, **kwargs):\n"
        "    compiled.append(str(path))  # a module compiled from source at import\n"
        "    return to_code(self, data, path, *args, **kwargs)\n"
        "SourceFileLoader.source_to_code = recording\n"
        "import functions.health as f\n"
        f"result = f.handler(json.loads({event!r}), None)\n"
        "print(json.dumps(compiled))\n"
        "print(json.dumps(result))\n"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_FUNCTION_NAME": "ugig-test-health",
        **DEPLOY_ENV,
        "UGIG_ENV": "production",
        "SUPABASE_JWT_SECRET": "dummy-jwt-secret-at-least-32-characters-long",
        # Nothing listens there: the health check must answer 503 in the envelope, quickly.
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/postgres",
        "DB_CONNECT_TIMEOUT_SECONDS": "1",
    }
    run = subprocess.run(
        [python, "-I", "-S", "-B", "-c", f"import sys; sys.path.insert(0, {str(task_root)!r})\n{script}"],
        cwd=task_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    compiled, answer = run.stdout.strip().splitlines()[-2:]
    assert json.loads(compiled) == []
    result = json.loads(answer)
    assert result["statusCode"] == 503
    body = json.loads(result["body"])
    assert body["success"] is False and body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert body["traceId"] == "rec-health-0001"
