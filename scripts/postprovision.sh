#!/bin/sh
# azd postprovision hook (posix): create the caller tokens the app expects but that do not exist yet.
#
#   caller-reader-token, caller-ops-token   the Caller documents in components/callers.yaml
#
# Runs after every `azd provision` / `azd up`, so it must be safe to repeat: an existing secret is
# never overwritten (that would lock callers out), only a missing one is created. A new token is 32
# random bytes, hex-encoded, written to a private temporary file and handed to az with --file, so it
# never appears on a command line, in the azd environment or in this script's output. Operators read
# or rotate tokens with az keyvault (docs/deploy.md).
#
# Needs the Azure CLI signed in to the same tenant as azd (az login), and Key Vault Secrets Officer on
# the vault, which infra/app/rbac.bicep grants to the principal that ran azd.
set -eu

CALLER_TOKEN_SECRETS="caller-reader-token caller-ops-token"
# Role assignments made by the provision that just ran can take a few minutes to reach Key Vault.
MAX_ATTEMPTS=20
DELAY_SECONDS=15

HOOK_NAME=postprovision
HOOK_COMMAND="azd provision"
. "$(dirname "$0")/common.sh"

SUBSCRIPTION=$(azd_value AZURE_SUBSCRIPTION_ID)
VAULT=$(azd_value AZURE_KEY_VAULT_NAME)

umask 077
TOKEN_FILE=$(mktemp)
trap 'rm -f "$TOKEN_FILE"' EXIT
trap 'exit 1' HUP INT TERM

# Prints present or missing; retries while Key Vault still refuses this identity.
secret_state() {
  attempt=1
  while :; do
    if output=$(az keyvault secret show --subscription "$SUBSCRIPTION" --vault-name "$VAULT" --name "$1" --query id --output tsv 2>&1); then
      echo present
      return 0
    fi
    case $output in
      *SecretNotFound* | *"was not found"*)
        echo missing
        return 0
        ;;
    esac
    if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
      log "cannot read secret $1 in $VAULT:"
      printf '%s\n' "$output" | head -n 5 >&2
      return 1
    fi
    log "Key Vault does not accept this identity yet (new role assignments take minutes); retrying in ${DELAY_SECONDS}s ($attempt/$MAX_ATTEMPTS)"
    sleep "$DELAY_SECONDS"
    attempt=$((attempt + 1))
  done
}

create_token() {
  od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$TOKEN_FILE"
  if ! output=$(az keyvault secret set --subscription "$SUBSCRIPTION" --vault-name "$VAULT" --name "$1" \
    --file "$TOKEN_FILE" --encoding utf-8 --content-type text/plain --tags vaultstate=caller-token \
    --output none 2>&1); then
    : >"$TOKEN_FILE"
    log "cannot create secret $1 in $VAULT:"
    printf '%s\n' "$output" | head -n 5 >&2
    case $output in
      *"deleted but recoverable"*)
        log "a deleted $1 still exists; recover it (az keyvault secret recover --vault-name $VAULT --name $1) and run 'azd hooks run postprovision'"
        ;;
    esac
    return 1
  fi
  : >"$TOKEN_FILE"
}

for name in $CALLER_TOKEN_SECRETS; do
  state=$(secret_state "$name")
  if [ "$state" = present ]; then
    log "$name exists in $VAULT; left unchanged"
  else
    create_token "$name"
    log "$name created in $VAULT (read it with: az keyvault secret show --vault-name $VAULT --name $name --query value -o tsv)"
  fi
done
