#!/bin/sh
# azd postprovision hook (posix): create the Key Vault secrets the app expects but that do not exist yet.
#
#   caller-reader-token, caller-ops-token   the Caller documents in components/callers.yaml
#   storage-account-name, storage-container,
#   storage-account-key                     what components/statestore.yaml and tablestore.yaml read
#                                           (the state account ststate…, its container, its key1)
#
# Runs after every `azd provision` / `azd up`, so it must be safe to repeat: an existing secret is
# never overwritten (that would lock callers out, or undo a rotation of the storage key), only a
# missing one is created. Bicep cannot express "create only when missing", which is why these
# secrets are written here and not in infra/. test/infra/postprovision.test.ts runs this script
# against a stand-in az and checks exactly that.
#
# Values never appear on a command line, in the azd environment or in this script's output: a new
# token is 32 random bytes, hex-encoded; the storage key goes from `az storage account keys list`
# into a private temporary file; both reach az with --file. Operators read or rotate secrets with
# az keyvault (docs/deploy.md).
#
# Needs the Azure CLI signed in to the same tenant as azd (az login), Key Vault Secrets Officer on
# the vault (infra/app/rbac.bicep grants it to the principal that ran azd), and permission to list
# the state account's keys (the Contributor/Owner role that provisioning needed anyway).
set -eu

CALLER_TOKEN_SECRETS="caller-reader-token caller-ops-token"
# Role assignments made by the provision that just ran can take a few minutes to reach Key Vault.
MAX_ATTEMPTS=${VAULTSTATE_HOOK_MAX_ATTEMPTS:-20}
DELAY_SECONDS=${VAULTSTATE_HOOK_DELAY_SECONDS:-15}
# How often the rotation policy written on a new storage-account-key rotates it (rotationEnabled only).
STORAGE_KEY_ROTATION_INTERVAL=30d

HOOK_NAME=postprovision
HOOK_COMMAND="azd provision"
. "$(dirname "$0")/common.sh"

SUBSCRIPTION=$(azd_value AZURE_SUBSCRIPTION_ID)
VAULT=$(azd_value AZURE_KEY_VAULT_NAME)
RESOURCE_GROUP=$(azd_value AZURE_RESOURCE_GROUP)
STATE_ACCOUNT=$(azd_value AZURE_STATE_STORAGE_ACCOUNT_NAME)
STATE_CONTAINER=$(azd_value AZURE_STATE_STORAGE_CONTAINER)
ROTATION_ENABLED=${AZURE_ROTATION_ENABLED:-false}

umask 077
VALUE_FILE=$(mktemp)
RAW_FILE=$(mktemp)
trap 'rm -f "$VALUE_FILE" "$RAW_FILE"' EXIT
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

# create_secret NAME TAG... : writes $VALUE_FILE as the first version of NAME, then empties the file.
create_secret() {
  name=$1
  shift
  if ! output=$(az keyvault secret set --subscription "$SUBSCRIPTION" --vault-name "$VAULT" --name "$name" \
    --file "$VALUE_FILE" --encoding utf-8 --content-type text/plain --tags "$@" \
    --output none 2>&1); then
    : >"$VALUE_FILE"
    log "cannot create secret $name in $VAULT:"
    printf '%s\n' "$output" | head -n 5 >&2
    case $output in
      *"deleted but recoverable"*)
        log "a deleted $name still exists; recover it (az keyvault secret recover --vault-name $VAULT --name $name) and run 'azd hooks run postprovision'"
        ;;
    esac
    return 1
  fi
  : >"$VALUE_FILE"
}

# Writes key1 of the state account to $VALUE_FILE without it passing through a variable or the console.
state_account_key1() {
  if ! az storage account keys list --subscription "$SUBSCRIPTION" --resource-group "$RESOURCE_GROUP" \
    --account-name "$STATE_ACCOUNT" --query "[?keyName=='key1'].value" --output tsv >"$RAW_FILE" 2>/dev/null; then
    : >"$RAW_FILE"
    log "cannot list the keys of $STATE_ACCOUNT (needs Microsoft.Storage/storageAccounts/listkeys/action on it)"
    return 1
  fi
  tr -d '\r\n' <"$RAW_FILE" >"$VALUE_FILE"
  : >"$RAW_FILE"
  if [ ! -s "$VALUE_FILE" ]; then
    log "$STATE_ACCOUNT returned no key1"
    return 1
  fi
}

for name in $CALLER_TOKEN_SECRETS; do
  state=$(secret_state "$name")
  if [ "$state" = present ]; then
    log "$name exists in $VAULT; left unchanged"
  else
    od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$VALUE_FILE"
    create_secret "$name" vaultstate=caller-token
    log "$name created in $VAULT (read it with: az keyvault secret show --vault-name $VAULT --name $name --query value -o tsv)"
  fi
done

for name in storage-account-name storage-container storage-account-key; do
  state=$(secret_state "$name")
  if [ "$state" = present ]; then
    log "$name exists in $VAULT; left unchanged"
    continue
  fi
  case $name in
    storage-account-name)
      printf '%s' "$STATE_ACCOUNT" >"$VALUE_FILE"
      create_secret "$name" vaultstate=state-storage
      ;;
    storage-container)
      printf '%s' "$STATE_CONTAINER" >"$VALUE_FILE"
      create_secret "$name" vaultstate=state-storage
      ;;
    storage-account-key)
      state_account_key1
      if [ "$ROTATION_ENABLED" = true ]; then
        # The policy src/rotation reads (src/rotation/README.md): alternate key1/key2 of the state
        # account through ARM, starting from key1, which is what this version holds.
        create_secret "$name" vaultstate=state-storage "rotation-interval=$STORAGE_KEY_ROTATION_INTERVAL" \
          rotation-generator=storage-account-key "rotation-storage-account=$STATE_ACCOUNT" rotation-key-source=arm \
          rotation-active-key=key1
      else
        create_secret "$name" vaultstate=state-storage rotation-active-key=key1
      fi
      ;;
  esac
  log "$name created in $VAULT"
done
