#!/usr/bin/env bash
# Entrypoint of the fmas-hw GAP SDK image (Dockerfile.gapsdk): configure the GAP SDK for the
# board in FMAS_GAP_CONFIG (a name under $GAP_SDK_HOME/configs, or a path), then run the command.
#
# The SDK's config scripts export the toolchain, AutoTiler, NNTool and make-rule variables and
# must be sourced in every shell; fmas-hw also sources the same script around each `make`.
set -o pipefail

config="${FMAS_GAP_CONFIG:-gapuino_v3}"
case "${config}" in
    */*) script="${config}" ;;
    *) script="${GAP_SDK_HOME}/configs/${config%.sh}.sh" ;;
esac
if [[ ! -f "${script}" ]]; then
    known=("${GAP_SDK_HOME}"/configs/*.sh)
    known=("${known[@]##*/}")
    echo "gapsdk-entrypoint: no GAP SDK config script ${script}; set FMAS_GAP_CONFIG to one of:" \
        "${known[*]%.sh}" >&2
    exit 2
fi
# The SDK scripts are not written for `set -e`/`set -u`; source them as an interactive shell would.
# shellcheck source=/dev/null
source "${script}"

tiler="${GAP_SDK_HOME}/tools/autotiler_v3/Autotiler/LibTile.a"
if [[ ! -s "${tiler}" ]]; then
    echo "gapsdk-entrypoint: no AutoTiler library at ${tiler}: '--target gvsoc' and '--target board'" \
        "need it (mount it with -v <LibTile.a>:${tiler}:ro, see docker/README.md)." >&2
fi

exec "$@"
