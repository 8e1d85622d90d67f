"""`hms login` and the token store: per user, per server, private, last login the default."""

import getpass
import json
import stat

from hms import tokens as hms_tokens


def tokens(config_dir):
    return json.loads((config_dir / "tokens.json").read_text())


def test_login_stores_the_token_privately(cli, drafter, config_dir, live_server):
    """login posts the password, keeps the API token in tokens.json (mode 0600) and says so."""
    from tokens.models import ApiToken, hash_key

    result = cli("login", "--user", "drafter", "--password-stdin", stdin="pw-for-tests-1\n")

    assert result.code == 0, result.err
    assert result.lines == [f"Logged in to {live_server.url} as drafter."]
    path = config_dir / "tokens.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    entry = tokens(config_dir)["servers"][live_server.url]
    assert ApiToken.objects.live().get(key_hash=hash_key(entry["tokens"]["drafter"])).user == drafter
    assert entry["default_user"] == "drafter"


def test_login_asks_for_the_password_at_the_prompt(cli, drafter, config_dir, live_server, monkeypatch):
    """Without --password-stdin the password is read with getpass (never echoed)."""
    prompts = []

    def fake_getpass(prompt):
        prompts.append(prompt)
        return "pw-for-tests-1"

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    result = cli("login", "--user", "drafter")

    assert result.code == 0, result.err
    assert prompts == [f"Password for drafter at {live_server.url}: "]
    assert "drafter" in tokens(config_dir)["servers"][live_server.url]["tokens"]


def test_a_wrong_password_stores_nothing(cli, drafter, config_dir):
    """A refused login exits 1 with one line from the portal and writes no token file."""
    result = cli("login", "--user", "drafter", "--password-stdin", stdin="wrong-password\n")

    assert result.code == 1
    assert result.out == ""
    assert len(result.err.splitlines()) == 1
    assert result.err.startswith("hms: 400 ")
    assert "Unable to log in" in result.err
    assert not (config_dir / "tokens.json").exists()


def test_the_last_login_is_the_default_and_user_picks_another(cli, login, drafter, counsel, wildfire_file, config_dir):
    """Commands use the last user logged in unless --user names another stored token."""
    login(drafter)
    login(counsel)
    assert stat.S_IMODE((config_dir / "tokens.json").stat().st_mode) == 0o600

    as_counsel = cli("rule", "push", wildfire_file)
    as_drafter = cli("rule", "push", wildfire_file, "--user", "drafter")

    assert as_counsel.code == 1
    assert as_counsel.err.startswith("hms: 403 forbidden: ")
    assert as_drafter.code == 0, as_drafter.err
    assert as_drafter.lines[0] == "📤 Uploaded Wildfire-Aid-2024  (v1)"


def test_tokens_are_kept_per_server(cli, login, drafter, dead_server, live_server, config_dir):
    """A token for one portal is not sent to another: there the user is not logged in (exit 2)."""
    login(drafter)

    result = cli("rule", "status", "wildfire-aid-2024", "--server", dead_server)

    assert result.code == 2
    assert result.err == f"hms: not logged in to {dead_server}; run: hms login --user NAME\n"
    assert list(tokens(config_dir)["servers"]) == [live_server.url]


def test_a_user_who_never_logged_in_is_told_how_to(cli, login, drafter):
    """--user naming someone without a stored token exits 2 with the login command to run."""
    login(drafter)

    result = cli("rule", "status", "wildfire-aid-2024", "--user", "LegalTeam")

    assert result.code == 2
    assert "LegalTeam is not logged in" in result.err
    assert "hms login --user LegalTeam" in result.err


def test_the_config_folder_follows_the_environment(monkeypatch, tmp_path):
    """Tokens live in $HMS_CONFIG_DIR, else $XDG_CONFIG_HOME/hms, else ~/.config/hms."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HMS_CONFIG_DIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    assert hms_tokens.config_dir() == tmp_path / "home" / ".config" / "hms"

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert hms_tokens.config_dir() == tmp_path / "xdg" / "hms"

    monkeypatch.setenv("HMS_CONFIG_DIR", str(tmp_path / "explicit"))
    assert hms_tokens.config_dir() == tmp_path / "explicit"
