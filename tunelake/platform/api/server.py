"""``tunelake serve``: uvicorn with the app, and a local Ray head when no cluster is given."""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets

from tunelake.errors import UserInputError
from tunelake.platform.api.settings import Settings, absolute_lake
from tunelake.platform.workspace import cache_root

logger = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(host: str, port: int, lake: str | None, address: str | None, say=print) -> None:  # type: ignore[no-untyped-def]
    """Run the service until interrupted."""
    import ray
    import uvicorn

    from tunelake.platform.api.app import create_app

    token = os.environ.pop("TUNELAKE_API_TOKEN", None)  # Ray processes started below must not inherit it
    if not is_loopback(host) and not token:
        raise UserInputError(f"serving on {host} needs a token: set TUNELAKE_API_TOKEN (or bind 127.0.0.1)")
    generated = not token
    token = token or secrets.token_urlsafe(24)
    dashboard = address
    started_ray = False
    if dashboard is None:
        context = ray.init(include_dashboard=True, dashboard_host="127.0.0.1", logging_level=logging.ERROR,
                           log_to_driver=False)
        dashboard = f"http://{context.dashboard_url}"
        started_ray = True
    elif not dashboard.startswith("http"):
        dashboard = f"http://{dashboard}"
    settings = Settings(lake=absolute_lake(lake), ray_dashboard=dashboard, token=token,
                        state_dir=cache_root() / "service")
    app = create_app(settings)
    url = f"http://{host}:{port}/"
    say(f"tunelake service on {url}  (lake {settings.lake}, Ray jobs at {dashboard})")
    if generated:
        say(f"API token (set TUNELAKE_API_TOKEN to choose one): {token}")
        say(f"open {url}#token={token}")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        if started_ray:
            ray.shutdown()
