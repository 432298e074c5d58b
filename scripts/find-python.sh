#!/usr/bin/env bash
# Print the newest Python >= 3.12 on this machine (Django 6 needs it), or fail loudly.
set -u
check='import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'
candidates=(python3.14 python3.13 python3.12)
for dir in /root/.pyenv/versions/3.14* /root/.pyenv/versions/3.13* /root/.pyenv/versions/3.12* \
           "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*; do
  [ -x "$dir/bin/python3" ] && candidates+=("$dir/bin/python3")
done
candidates+=(python3)
for candidate in "${candidates[@]}"; do
  if path=$(command -v "$candidate" 2>/dev/null) && "$path" -c "$check" 2>/dev/null; then
    echo "$path"
    exit 0
  fi
done
echo "error: no Python >= 3.12 found (tried ${candidates[*]}). Install python3.12 or newer." >&2
exit 1
