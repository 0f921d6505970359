"""Login security: server-side sessions and API tokens, login throttling, the password policy and
the security headers of every response (docs/security.md).

``app.core.auth`` asks this package whether a cookie or token is still good; the web login pages
and the API's token endpoint go through :mod:`app.security.login`.
"""
