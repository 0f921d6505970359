"""Security headers on every response, cookie flags, and the trusted-proxy setting (ASVS V14.4, V3.4).

The pages load scripts and styles from ``/static`` only (no inline code, no inline ``style``), so
the Content-Security-Policy allows ``'self'`` and nothing inline. HSTS and ``Secure`` cookies are
production-only: development and tests run over plain http.
"""
from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import Settings

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"


def init_app(app: Flask, settings: Settings) -> None:
    production = settings.is_production
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=production,
                      # the signed cookie is only the carrier of the session secret; the server's
                      # row decides how long it is good (SESSION_MAX_AGE, SESSION_IDLE_TIMEOUT)
                      PERMANENT_SESSION_LIFETIME=settings.SESSION_MAX_AGE)
    if production:
        app.config["SESSION_COOKIE_NAME"] = "__Host-session"  # Secure, path /, no Domain: this host only
    if settings.TRUSTED_PROXIES:
        # the client address (login throttle, audit) and the scheme come from the proxies' headers;
        # X-Forwarded-Host is not trusted
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.TRUSTED_PROXIES,  # type: ignore[method-assign]
                                x_proto=settings.TRUSTED_PROXIES)
    csp = CSP
    if settings.map_tile_origin:  # the map's tiles come from the city's tile server (docs/map.md)
        csp = CSP.replace("img-src 'self' data:", f"img-src 'self' data: {settings.map_tile_origin}")
    fixed = {
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(self), payment=()",
    }
    if production:
        fixed["Strict-Transport-Security"] = HSTS
    items = tuple(fixed.items())

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        for name, value in items:
            headers.setdefault(name, value)  # a view may send a stricter policy (attachments)
        # an API answer opened in a browser is a download, never a page (ASVS 14.4.2)
        if response.mimetype == "application/json" and "Content-Disposition" not in headers \
                and request.path.startswith("/api/"):
            headers["Content-Disposition"] = 'attachment; filename="api.json"'
        return response
