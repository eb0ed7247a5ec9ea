# Sourced by scripts/serve and scripts/test: create or refresh the project's virtualenv.
# Usage: ensure_venv [extra]   (extra: "" for the runtime, "test" for the test tools)
# It reinstalls only when pyproject.toml (or the extra asked for) changed since the last install.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PASSBOX_VENV:-$ROOT/.venv}"

find_python() {
    for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "passbox needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

ensure_venv() {
    local extra="${1:-}"
    local spec="$ROOT"
    [ -n "$extra" ] && spec="$ROOT[$extra]"
    if [ ! -x "$VENV/bin/python" ]; then
        local python
        python="$(find_python)"
        echo "passbox: creating virtualenv in $VENV" >&2
        "$python" -m venv "$VENV"
    fi
    local stamp="$VENV/.passbox-installed"
    local want
    want="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1) extra=$extra"
    # A test install also satisfies serve: do not downgrade it.
    if [ -f "$stamp" ] && { [ "$(cat "$stamp")" = "$want" ] ||
        { [ -z "$extra" ] && grep -q "^$(echo "$want" | cut -d' ' -f1) extra=test$" "$stamp"; }; }; then
        return 0
    fi
    echo "passbox: installing ${spec#"$ROOT"} into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec" >&2
    echo "$want" > "$stamp"
}
