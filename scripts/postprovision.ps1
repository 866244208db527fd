#Requires -Version 7.0
# azd postprovision hook (windows): create the Key Vault secrets the app expects but that do not exist yet.
#
#   caller-reader-token, caller-ops-token   the Caller documents in components/callers.yaml
#   storage-account-name, storage-container,
#   storage-account-key                     what components/statestore.yaml and tablestore.yaml read
#
# Same behaviour as postprovision.sh: an existing secret is never overwritten (that would lock callers
# out, or undo a rotation of the storage key), only a missing one is created; values go to az through
# a temporary file (--file), so they never appear on a command line, in the azd environment or here.
#
# Needs the Azure CLI signed in to the same tenant as azd (az login), Key Vault Secrets Officer on the
# vault (infra/app/rbac.bicep grants it to the principal that ran azd), and permission to list the
# state account's keys.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$CallerTokenSecrets = @('caller-reader-token', 'caller-ops-token')
# Role assignments made by the provision that just ran can take a few minutes to reach Key Vault.
$MaxAttempts = 20
$DelaySeconds = 15
# How often the rotation policy written on a new storage-account-key rotates it (rotationEnabled only).
$StorageKeyRotationInterval = '30d'

$HookName = 'postprovision'
$HookCommand = 'azd provision'
. "$PSScriptRoot/common.ps1"

function Get-FirstLines([string] $Text) {
    return (($Text -split "`r?`n") | Select-Object -First 5) -join [Environment]::NewLine
}

$Subscription = Get-AzdValue 'AZURE_SUBSCRIPTION_ID'
$Vault = Get-AzdValue 'AZURE_KEY_VAULT_NAME'
$ResourceGroup = Get-AzdValue 'AZURE_RESOURCE_GROUP'
$StateAccount = Get-AzdValue 'AZURE_STATE_STORAGE_ACCOUNT_NAME'
$StateContainer = Get-AzdValue 'AZURE_STATE_STORAGE_CONTAINER'
$RotationEnabled = [Environment]::GetEnvironmentVariable('AZURE_ROTATION_ENABLED') -eq 'true'

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

# Writes $Value as the first version of $Name, through a temporary file.
function New-Secret([string] $Name, [string] $Value, [string[]] $Tags) {
    $valueFile = [System.IO.Path]::GetTempFileName()
    try {
        # UTF-8 without a BOM and without a newline: the file content is the value, byte for byte.
        [System.IO.File]::WriteAllText($valueFile, $Value)
        $result = Invoke-Az (@('keyvault', 'secret', 'set', '--subscription', $Subscription, '--vault-name', $Vault,
                '--name', $Name, '--file', $valueFile, '--encoding', 'utf-8', '--content-type', 'text/plain',
                '--tags') + $Tags + @('--output', 'none'))
    }
    finally {
        Remove-Item -LiteralPath $valueFile -Force -ErrorAction SilentlyContinue
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

function New-CallerTokenValue {
    $bytes = [byte[]]::new(32)
    $rng = [System.Security.Cryptography.RandomNumberGenerator]::Create()
    try {
        $rng.GetBytes($bytes)
        return -join ($bytes | ForEach-Object { $_.ToString('x2') })
    }
    finally {
        [Array]::Clear($bytes, 0, $bytes.Length)
        $rng.Dispose()
    }
}

function Get-StateAccountKey1 {
    $result = Invoke-Az @('storage', 'account', 'keys', 'list', '--subscription', $Subscription, '--resource-group', $ResourceGroup,
        '--account-name', $StateAccount, '--query', "[?keyName=='key1'].value", '--output', 'tsv')
    if ($result.ExitCode -ne 0 -or [string]::IsNullOrWhiteSpace($result.Output)) {
        Write-Log "cannot list the keys of $StateAccount (needs Microsoft.Storage/storageAccounts/listkeys/action on it)"
        exit 1
    }
    return $result.Output.Trim()
}

foreach ($name in $CallerTokenSecrets) {
    if ((Get-SecretState $name) -eq 'present') {
        Write-Log "$name exists in $Vault; left unchanged"
    }
    else {
        New-Secret $name (New-CallerTokenValue) @('vaultstate=caller-token')
        Write-Log "$name created in $Vault (read it with: az keyvault secret show --vault-name $Vault --name $name --query value -o tsv)"
    }
}

foreach ($name in @('storage-account-name', 'storage-container', 'storage-account-key')) {
    if ((Get-SecretState $name) -eq 'present') {
        Write-Log "$name exists in $Vault; left unchanged"
        continue
    }
    switch ($name) {
        'storage-account-name' { New-Secret $name $StateAccount @('vaultstate=state-storage') }
        'storage-container' { New-Secret $name $StateContainer @('vaultstate=state-storage') }
        'storage-account-key' {
            $tags = @('vaultstate=state-storage', 'rotation-active-key=key1')
            if ($RotationEnabled) {
                $tags += @("rotation-interval=$StorageKeyRotationInterval", 'rotation-generator=storage-account-key',
                    "rotation-storage-account=$StateAccount", 'rotation-key-source=arm')
            }
            New-Secret $name (Get-StateAccountKey1) $tags
        }
    }
    Write-Log "$name created in $Vault"
}
