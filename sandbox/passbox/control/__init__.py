"""The control plane: sandbox-only endpoints under ``/_sandbox/`` that configure and drive the
vendors. It sits above the vendors (app -> control -> vendors -> core) and is described by
``specs/sandbox.openapi.yaml``, never by a vendor spec."""

PREFIX = "/_sandbox"
# The cookie the dashboard's login sets: a session id (never the admin token).
ADMIN_COOKIE = "passbox_admin"
# Without an admin token, the browser's own value the dashboard's CSRF tokens are bound to.
CSRF_COOKIE = "passbox_csrf"
