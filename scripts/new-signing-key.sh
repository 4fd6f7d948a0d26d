#!/usr/bin/env bash
# Creates an Ed25519 bundle signing key pair in FOLDER and prints the key id that manifests name.
#
#   scripts/new-signing-key.sh FOLDER
#
# FOLDER/signing-key.pem (mode 0600) is the private key in PKCS#8 PEM, for the SSM SecureString that
# SIGNING_KEY_PARAMETER names. FOLDER/signing-public.pem is the public key for the hosts' keyrings.
# The key id is "ed25519:" and the first 16 hex digits of the SHA-256 of the public key's DER form.
set -euo pipefail

folder=${1:?usage: scripts/new-signing-key.sh FOLDER}
private_key="$folder/signing-key.pem"
public_key="$folder/signing-public.pem"

# An existing key may be the one in use, and overwriting it would lose it.
for file in "$private_key" "$public_key"; do
  if [[ -e "$file" ]]; then
    echo "new-signing-key: $file already exists; pass an empty or new folder" >&2
    exit 1
  fi
done

mkdir -p "$folder"
(umask 077 && openssl genpkey -algorithm ed25519 -out "$private_key")
openssl pkey -in "$private_key" -pubout -out "$public_key"
chmod 0644 "$public_key"
echo "ed25519:$(openssl pkey -pubin -in "$public_key" -outform DER | sha256sum | cut -c1-16)"
