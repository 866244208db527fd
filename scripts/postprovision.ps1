#Requires -Version 7.0
# azd postprovision hook (windows): create the caller tokens the app expects but that do not exist yet.
#
#   caller-reader-token, caller-ops-token   the Caller documents in components/callers.yaml
#
# Same behaviour as postprovision.sh: an existing secret is never overwritten, only a missing one is
# created; a new token is 32 random bytes, hex-encoded, written to a temporary file and handed to az
# with --file, so it never appears on a command line, in the azd environment or in this output.
#
# Needs the Azure CLI signed in to the same tenant as azd (az login), and Key Vault Secrets Officer on
# the vault, which infra/app/rbac.bicep grants to the principal that ran azd.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$CallerTokenSecrets = @('caller-reader-token', 'caller-ops-token')
# Role assignments made by the provision that just ran can take a few minutes to reach Key Vault.
$MaxAttempts = 20
$DelaySeconds = 15

$HookName = 'postprovision'
$HookCommand = 'azd provision'
. "$PSScriptRoot/common.ps1"

function Get-FirstLines([string] $Text) {
    return (($Text -split "`r?`n") | Select-Object -First 5) -join [Environment]::NewLine
}

$Subscription = Get-AzdValue 'AZURE_SUBSCRIPTION_ID'
$Vault = Get-AzdValue 'AZURE_KEY_VAULT_NAME'

# 'present' or 'missing'; retries while Key Vault still refuses this identity.
function Get-SecretState([string] $Name) {
    for ($attempt = 1; ; $attempt++) {
        $result = Invoke-Az @('keyvault', 'secret', 'show', '--subscription', $Subscription, '--vault-name', $Vault,
            '--name', $Name, '--query', 'id', '--output', 'tsv')
        if ($result.ExitCode -eq 0) { return 'present' }
        if ($result.Output -match 'SecretNotFound|was not found') { return 'missing' }
        if ($attempt -ge $MaxAttempts) {
            Write-Log "cannot read secret $Name in ${Vault}:"
            [Console]::Error.WriteLine((Get-FirstLines $result.Output))
            exit 1
        }
        Write-Log "Key Vault does not accept this identity yet (new role assignments take minutes); retrying in ${DelaySeconds}s ($attempt/$MaxAttempts)"
        Start-Sleep -Seconds $DelaySeconds
    }
}

function New-CallerToken([string] $Name) {
    $bytes = [byte[]]::new(32)
    $rng = [System.Security.Cryptography.RandomNumberGenerator]::Create()
    $tokenFile = [System.IO.Path]::GetTempFileName()
    try {
        $rng.GetBytes($bytes)
        # UTF-8 without a BOM and without a newline: the file content is the token, byte for byte.
        [System.IO.File]::WriteAllText($tokenFile, -join ($bytes | ForEach-Object { $_.ToString('x2') }))
        $result = Invoke-Az @('keyvault', 'secret', 'set', '--subscription', $Subscription, '--vault-name', $Vault,
            '--name', $Name, '--file', $tokenFile, '--encoding', 'utf-8', '--content-type', 'text/plain',
            '--tags', 'vaultstate=caller-token', '--output', 'none')
    }
    finally {
        Remove-Item -LiteralPath $tokenFile -Force -ErrorAction SilentlyContinue
        [Array]::Clear($bytes, 0, $bytes.Length)
        $rng.Dispose()
    }
    if ($result.ExitCode -ne 0) {
        Write-Log "cannot create secret $Name in ${Vault}:"
        [Console]::Error.WriteLine((Get-FirstLines $result.Output))
        if ($result.Output -match 'deleted but recoverable') {
            Write-Log "a deleted $Name still exists; recover it (az keyvault secret recover --vault-name $Vault --name $Name) and run 'azd hooks run postprovision'"
        }
        exit 1
    }
}

foreach ($name in $CallerTokenSecrets) {
    if ((Get-SecretState $name) -eq 'present') {
        Write-Log "$name exists in $Vault; left unchanged"
    }
    else {
        New-CallerToken $name
        Write-Log "$name created in $Vault (read it with: az keyvault secret show --vault-name $Vault --name $name --query value -o tsv)"
    }
}
