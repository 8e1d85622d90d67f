"""The token store: the API tokens of the users logged in, per portal, in a private tokens.json."""

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from hms.client import EXIT_USAGE, HmsError


def config_dir() -> Path:
    if os.environ.get("HMS_CONFIG_DIR"):
        return Path(os.environ["HMS_CONFIG_DIR"]).expanduser()
    if os.environ.get("XDG_CONFIG_HOME"):
        return Path(os.environ["XDG_CONFIG_HOME"]).expanduser() / "hms"
    return Path.home() / ".config" / "hms"


class TokenStore:
    """tokens.json: {"servers": {URL: {"default_user": NAME, "tokens": {NAME: KEY}}}}, mode 0600."""

    def __init__(self, folder: Path | None = None) -> None:
        self.path = (folder or config_dir()) / "tokens.json"

    def load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"servers": {}}
        except (OSError, ValueError) as exc:
            raise HmsError(f"cannot read {self.path}: {exc}", exit_code=EXIT_USAGE) from exc
        if not isinstance(data, dict) or not isinstance(data.get("servers"), dict):
            raise HmsError(f"{self.path} is not an hms token file; remove it and log in again", exit_code=EXIT_USAGE)
        return data

    def save(self, data: dict[str, Any]) -> None:
        folder = self.path.parent
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Written to a private temporary file and renamed, so the token is never readable by
        # others, not even for a moment, and a crash never leaves half a file.
        fd, tmp = tempfile.mkstemp(prefix=".tokens.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, sort_keys=True)
                handle.write("\n")
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def remember(self, server: str, user: str, token: str) -> None:
        data = self.load()
        entry = data["servers"].setdefault(server, {"tokens": {}})
        entry.setdefault("tokens", {})[user] = token
        entry["default_user"] = user
        self.save(data)

    def token_for(self, server: str, user: str | None) -> tuple[str, str]:
        """(user, token) for `user`, or for the last user logged in to `server`."""
        entry = self.load()["servers"].get(server) or {}
        user = user or entry.get("default_user")
        if not user:
            raise HmsError(f"not logged in to {server}; run: hms login --user NAME", exit_code=EXIT_USAGE)
        token = (entry.get("tokens") or {}).get(user)
        if not token:
            raise HmsError(f"{user} is not logged in to {server}; run: hms login --user {user}", exit_code=EXIT_USAGE)
        return user, token
