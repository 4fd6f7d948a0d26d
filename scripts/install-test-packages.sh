#!/usr/bin/env bash
# Installs the Debian packages the integration tests run for real: slapd and its tools, libnss-cache,
# OpenSSH server and client, and sudo. Run as root on Debian 12 or Ubuntu 22.04 and newer.
set -euo pipefail

packages=(slapd ldap-utils libnss-cache openssh-server openssh-client sudo openssl)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "test packages already installed"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
