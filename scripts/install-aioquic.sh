#!/bin/sh
# The Python the QUIC end-to-end tests run aioquic with (scripts/topology/quic_*.py):
# the virtual environment DIR (build/python), made once. Debian's python3-aioquic when apt
# has it (the venv then sees the system's packages), else aioquic from PyPI into the venv.
set -eu
venv=${1:?usage: install-aioquic.sh DIR}
if "$venv/bin/python3" -c 'import aioquic' 2>/dev/null; then exit 0; fi
rm -rf "$venv"

if ! /usr/bin/python3 -c 'import aioquic' 2>/dev/null; then
    apt-get update -qq
    if apt-cache policy python3-aioquic 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        echo "installing: python3-aioquic"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-aioquic >/dev/null
    fi
fi
if /usr/bin/python3 -c 'import aioquic' 2>/dev/null; then
    /usr/bin/python3 -m venv --without-pip --system-site-packages "$venv"
    exit 0
fi

# A venv with pip: Debian's python3 needs python3-venv for it.
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    echo "installing: python3-venv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
echo "installing: aioquic (PyPI) into $venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q aioquic
"$venv/bin/python3" -c 'import aioquic'
