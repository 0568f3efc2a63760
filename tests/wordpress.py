"""A real WordPress with the companion plugin, for tests: Debian's `wordpress` package on MariaDB, served by
`php -S` on loopback, with the LearnDash stand-in (scripts/wordpress-up; wordpress/tests/).

    from tests.wordpress import wordpress_site  # noqa: F401  (the fixture)

    def test_something(wordpress_site):
        wordpress_site.url, wordpress_site.user, wordpress_site.app_password
        course = wordpress_site.php("return wp_insert_post([...]);")   # PHP run inside that WordPress

One site per test session (about 3 s to start); tests make their own users and posts. Without php, WordPress
or MariaDB the tests using it are skipped with the reason, and fail under CI=true.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO / "wordpress" / "tests" / "wp-eval.php"
MISSING = 3  # scripts/wordpress-up's exit status when something it needs is not installed


@dataclass(frozen=True)
class WordPressSite:
    url: str
    user: str
    app_password: str
    site_dir: Path

    def php(self, code: str):
        """Run PHP inside the site's WordPress (a fresh process: no caches carried over) and return what it
        returns, decoded from JSON."""
        done = subprocess.run(
            ["php", str(EVAL), str(self.site_dir)], input=code, capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            raise AssertionError(f"PHP failed ({done.returncode}): {done.stderr or done.stdout}")
        return json.loads(done.stdout) if done.stdout.strip() else None

    def user_create(self, login: str) -> int:
        return self.php(
            f"return wp_insert_user(['user_login' => '{login}', 'user_email' => '{login}@example.test', "
            "'user_pass' => wp_generate_password(), 'role' => 'subscriber']);"
        )

    def post_create(self, post_type: str, title: str) -> int:
        return self.php(
            f"return wp_insert_post(['post_type' => '{post_type}', 'post_title' => '{title}', "
            "'post_status' => 'publish']);"
        )


@pytest.fixture(scope="session")
def wordpress_site():
    folder = tempfile.mkdtemp(prefix="membersync-wp-")
    started = subprocess.run([str(REPO / "scripts" / "wordpress-up"), folder], capture_output=True, text=True)
    try:
        if started.returncode == MISSING:
            reason = started.stderr.strip()
            if os.environ.get("CI") == "true":
                pytest.fail(f"{reason}: under CI the WordPress tests may not be skipped")
            pytest.skip(reason)
        if started.returncode != 0:
            raise RuntimeError(f"scripts/wordpress-up failed: {started.stderr or started.stdout}")
        env = dict(line.split("=", 1) for line in started.stdout.splitlines() if "=" in line)
        yield WordPressSite(
            url=env["WP_URL"],
            user=env["WP_ADMIN_USER"],
            app_password=env["WP_APP_PASSWORD"],
            site_dir=Path(env["WP_SITE_DIR"]),
        )
    finally:
        subprocess.run([str(REPO / "scripts" / "wordpress-down"), folder], capture_output=True)
