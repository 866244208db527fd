# Shared by the azd hooks (sourced): logging, azd environment values, and the Azure CLI checks.
# The sourcing script sets HOOK_NAME (for log lines) and HOOK_COMMAND (the azd command that runs it).

log() { printf '%s: %s\n' "$HOOK_NAME" "$*" >&2; }

# An azd environment value: azd exports them to hooks; `azd env get-value` covers a manual run.
azd_value() {
  eval "value=\${$1:-}"
  if [ -z "$value" ] && command -v azd >/dev/null 2>&1; then
    value=$(azd env get-value "$1" 2>/dev/null || true)
  fi
  if [ -z "$value" ]; then
    log "$1 is not set; run this through azd ($HOOK_COMMAND) or set it in the environment"
    exit 1
  fi
  printf '%s' "$value"
}

if ! command -v az >/dev/null 2>&1; then
  log "the Azure CLI (az) is required: https://learn.microsoft.com/cli/azure/install-azure-cli"
  exit 1
fi
if ! az account show --output none 2>/dev/null; then
  log "the Azure CLI is not signed in; run 'az login' (azd and az keep separate sign-ins)"
  exit 1
fi
