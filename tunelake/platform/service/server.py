"""``tunelake serve``: uvicorn with the app, and a local Ray head when no cluster is given."""

from __future__ import annotations

import ipaddress
import logging
import secrets
from contextlib import ExitStack
from typing import Sequence

from tunelake.errors import UserInputError
from tunelake.paths import cache_root
from tunelake.platform.service import token as api_token
from tunelake.platform.service.settings import Settings, absolute_lake
from tunelake.redact import keep_secret

logger = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(host: str, port: int, lake: str | None, address: str | None, argv: Sequence[str],
          say=print) -> None:  # type: ignore[no-untyped-def]
    """Run the service until interrupted; ``argv`` is its command line, for the restart without the token."""
    if api_token.started_with_token():
        api_token.restart_without_token(argv)  # does not return
    from tunelake.cluster.connect import ClusterUnreachable, private_ray, probe

    token = api_token.read_token()
    if not is_loopback(host) and not token:
        raise UserInputError(f"serving on {host} needs a token: put it in a file only you can read and set "
                             f"{api_token.TOKEN_FILE} to its path (or bind 127.0.0.1)")
    generated = not token
    token = token or secrets.token_urlsafe(24)
    keep_secret(token)
    with ExitStack() as stack:
        if address is None:
            context = stack.enter_context(private_ray(include_dashboard=True, dashboard_host="127.0.0.1"))
            dashboard = f"http://{context.dashboard_url}"
        else:
            dashboard = address if address.startswith("http") else f"http://{address}"
            try:
                probe(dashboard)
            except ClusterUnreachable as exc:  # the lake can be read meanwhile; jobs wait for the cluster
                say(f"warning: {exc}; the service starts, and submitting jobs fails until it answers")
        _serve_app(host, port, lake, dashboard, token, generated, say)


def _serve_app(host: str, port: int, lake: str | None, dashboard: str, token: str, generated: bool,
               say) -> None:  # type: ignore[no-untyped-def]
    import uvicorn

    from tunelake.platform.service.app import create_app

    settings = Settings(lake=absolute_lake(lake), ray_dashboard=dashboard, token=token,
                        state_dir=cache_root() / "service")
    app = create_app(settings)
    url = f"http://{host}:{port}/"
    say(f"tunelake service on {url}  (lake {settings.lake}, Ray jobs at {dashboard})")
    if generated:
        say(f"API token (set {api_token.TOKEN_FILE} to a file holding one to choose it): {token}")
        say(f"open {url}#token={token}")
    uvicorn.run(app, host=host, port=port, log_level="warning")
