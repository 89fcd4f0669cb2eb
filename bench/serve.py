"""Public POST under gunicorn against a bare endpoint, POST-to-email time, and memory.

Run (SQLite): .venv/bin/python bench/serve.py
Run (PostgreSQL): PG_DURABLE=1 scripts/with-postgres.sh .venv/bin/python bench/serve.py
All traffic stays on 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import random
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from common import (
    BIN,
    children,
    database_url,
    engine_name,
    environment,
    peak_rss_mb,
    percentile,
    prepared_app,
    pss_mb,
    scratch,
    start,
    wait_for_http,
)

from tests.conftest import free_port

POST_LUA = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = [==[{cookie}]==]
"""


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def session(base: str) -> tuple[urllib.request.OpenerDirector, str, str]:
    """Open the form: return an opener with the cookie, the cookie header, and the token."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    with opener.open(base + "/?lang=en", timeout=10) as response:
        html = response.read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    if token is None:
        raise SystemExit("no CSRF token on the form")
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return opener, cookie, token.group(1)


def form(token: str, number: int) -> str:
    return urllib.parse.urlencode(
        {
            "csrf_token": token,
            "kind": "tip",
            "topic": "russia-ukraine-war",
            "reporter": "iryna",
            "body": f"Benchmark tip {number}: the power is out again in the city centre tonight.",
        }
    )


def wrk(url: str, seconds: int, script: Path | None = None) -> dict[str, float]:
    """Run wrk (2 threads, 16 connections) and read throughput and latency percentiles."""
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "10s", "--latency", url]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    output = subprocess.run(  # noqa: S603, S607 - wrk from Debian, loopback only
        command, capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    for share in ("50", "99"):
        value, unit = re.search(rf"\s{share}%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
        result[f"p{share}"] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["errors"] = float(non2xx.group(1)) if non2xx else 0.0
    return result


def post_to_email(base: str, mail: Path, samples: int) -> list[float]:
    """Time from each POST to its email's file in the mail catcher's folder, in ms."""
    opener, _cookie, token = session(base)
    times = []
    for number in range(samples):
        time.sleep(random.random() * 0.5)  # noqa: S311 - arrival jitter, not a secret
        before = set(mail.glob("*.eml"))
        started = time.perf_counter()
        try:
            opener.open(base + "/", data=form(token, number).encode(), timeout=10)
        except urllib.error.HTTPError as answer:
            if answer.code != 303:
                raise SystemExit(f"POST answered {answer.code}") from None
        deadline = started + 10
        while not set(mail.glob("*.eml")) - before:
            if time.perf_counter() > deadline:
                raise SystemExit("an email took over 10 s")
            time.sleep(0.002)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    """Run the measurements and print a Markdown table of the results."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    folder = scratch()
    prepared_app(folder)
    engine = engine_name(database_url(folder))
    catcher_port, web_port = free_port(), free_port()
    env = environment(folder, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(catcher_port))
    base = f"http://127.0.0.1:{web_port}"
    web = start(
        [
            str(BIN / "gunicorn"),
            "--config",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{web_port}",
            "--workers",
            "2",
            "wsgi:app",
        ],
        env,
    )
    processes = [web]
    try:
        wait_for_http(base + "/healthz")
        _opener, cookie, token = session(base)
        script = folder / "post.lua"
        script.write_text(POST_LUA.format(body=form(token, 0), cookie=cookie))
        bare = wrk(base + "/healthz/live", args.seconds)
        post = wrk(base + "/", args.seconds, script)
        app_workers = children(web.pid)
        app_peak = max(peak_rss_mb(pid) for pid in app_workers)
        app_pss = max(pss_mb(pid) for pid in app_workers)

        mail = folder / "mail"
        catcher = start(
            [
                str(BIN / "flask"),
                "--app",
                "wsgi",
                "intake",
                "mailcatcher",
                "--port",
                str(catcher_port),
                "--folder",
                str(mail),
            ],
            env,
        )
        processes.append(catcher)
        time.sleep(2)
        worker = start([str(BIN / "flask"), "--app", "wsgi", "intake", "worker"], env)
        processes.append(worker)
        # Let the worker send the mail of the throughput run before timing single posts.
        backlog_deadline = time.monotonic() + 300
        while time.monotonic() < backlog_deadline:
            time.sleep(1)
            if len(list(mail.glob("*.eml"))) >= post["rps"] * args.seconds * 0.99:
                break
        latency = post_to_email(base, mail, args.samples)
        worker_peak = peak_rss_mb(worker.pid)
        worker_pss = pss_mb(worker.pid)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)

    print(f"### Public POST and email, {engine}\n")
    print("| measure | value |\n|---|---|")
    print(
        f"| bare endpoint (GET /healthz/live) | {bare['rps']:.0f} req/s, "
        f"p50 {bare['p50']:.1f} ms, p99 {bare['p99']:.1f} ms |"
    )
    print(
        f"| public POST (store, route, queue email) | {post['rps']:.0f} req/s, "
        f"p50 {post['p50']:.1f} ms, p99 {post['p99']:.1f} ms, non-3xx {post['errors']:.0f} |"
    )
    print(f"| POST as a share of bare | {100 * post['rps'] / bare['rps']:.1f}% |")
    print(
        f"| POST to email in the catcher ({args.samples} posts) | "
        f"p50 {percentile(latency, 0.5):.0f} ms, p95 {percentile(latency, 0.95):.0f} ms |"
    )
    print(
        f"| app worker memory (gunicorn, 2 sync) | peak RSS {app_peak:.0f} MB, "
        f"PSS {app_pss:.0f} MB |"
    )
    print(f"| delivery worker memory | peak RSS {worker_peak:.0f} MB, PSS {worker_pss:.0f} MB |")


if __name__ == "__main__":
    main()
