"""Response headers that keep pages private and scripts our own, on every response."""

from __future__ import annotations

from flask import Flask, Response, request

PERMISSIONS = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
    "interest-cohort=(), browsing-topics=()"
)


def content_security_policy(frame_ancestors: str) -> str:
    """Return the CSP: our own scripts and styles only, none inline, no plugins."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def register(app: Flask) -> None:
    """Add the security headers to every response the app sends."""
    public_ancestors = app.config.get("INTAKE_FRAME_ANCESTORS") or "'none'"

    @app.after_request
    def secure_headers(response: Response) -> Response:
        # Only the public form may be embedded (by the newsroom's own site); staff pages never.
        staff = request.path.startswith("/staff/")
        ancestors = "'none'" if staff else public_ancestors
        headers = response.headers
        headers.setdefault("Content-Security-Policy", content_security_policy(ancestors))
        if ancestors == "'none'":
            headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Permissions-Policy", PERMISSIONS)
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        # Pages may sit on a shared or seized device: keep them out of every cache.
        if request.endpoint != "static":
            headers["Cache-Control"] = "no-store"
        return response
