#!/usr/bin/env bash
# Run the tests marked transformers4 (4.x-only code paths) against transformers 4.50.3 in ./.venv-tf4.
# Needs ./.venv (scripts/test.sh makes it). The environment is reused; uv installs only what changed.
set -uo pipefail
cd "$(dirname "$0")/.."
TF4_VERSION=4.50.3

torch_pin=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("torch"))') || exit 1
links=$(.venv/bin/python -c 'from hfscan.matrix import pip_find_links; print(" ".join("--find-links=" + l for l in pip_find_links()))') || exit 1
uv=$(.venv/bin/python -c 'from hfscan.matrix import uv_bin; print(uv_bin())') || exit 1
if [ ! -x .venv-tf4/bin/python ]; then
    "$uv" venv -q --python .venv/bin/python .venv-tf4 || exit 1
fi
# shellcheck disable=SC2086  # $links is a list of options
"$uv" pip install -q --python .venv-tf4/bin/python $links -e '.[test]' "transformers==$TF4_VERSION" "torch==$torch_pin" || {
    echo "error: could not make the transformers $TF4_VERSION environment (.venv-tf4); HFSCAN_SKIP_TF4=1 skips this part" >&2
    exit 1
}

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# only the modules that hold such tests are collected: the others import classes 4.50 does not have
mapfile -t files < <(grep -rlE "pytest\.mark\.transformers4|mark\.transformers4" tests --include='test_*.py' | sort)
if [ "${#files[@]}" -eq 0 ]; then
    echo "error: no test module marks a test transformers4" >&2
    exit 1
fi
echo "transformers $TF4_VERSION: the tests of 4.x-only code paths (${files[*]})"
.venv-tf4/bin/python -m pytest -q -rs -m transformers4 -p no:cacheprovider "${files[@]}"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "error: no test marked transformers4 was collected" >&2
    exit 1
fi
exit "$rc"
