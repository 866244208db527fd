# Shared by the azd hooks (dot-sourced): logging, azd environment values, running az, and the Azure
# CLI checks. The sourcing script sets $HookName (for log lines) and $HookCommand (the azd command
# that runs it) first.

function Write-Log([string] $Message) {
    [Console]::Error.WriteLine("${HookName}: $Message")
}

# An azd environment value: azd exports them to hooks; `azd env get-value` covers a manual run.
function Get-AzdValue([string] $Name) {
    $value = [Environment]::GetEnvironmentVariable($Name)
    if ([string]::IsNullOrEmpty($value) -and (Get-Command azd -ErrorAction SilentlyContinue)) {
        $value = & azd env get-value $Name 2>$null
        if ($LASTEXITCODE -ne 0) { $value = $null }
    }
    if ([string]::IsNullOrEmpty($value)) {
        Write-Log "$Name is not set; run this through azd ($HookCommand) or set it in the environment"
        exit 1
    }
    return "$value".Trim()
}

# Runs az with the given arguments; returns its exit code and combined output. Native stderr must not
# become a terminating error here: "not found" is an expected answer.
function Invoke-Az([string[]] $Arguments) {
    $previous = $ErrorActionPreference
    $ErrorActionPreference = 'Continue'
    try {
        $output = & az @Arguments 2>&1 | ForEach-Object { "$_" }
        $code = $LASTEXITCODE
    }
    finally {
        $ErrorActionPreference = $previous
    }
    return [pscustomobject]@{ ExitCode = $code; Output = ($output -join [Environment]::NewLine) }
}

if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
    Write-Log 'the Azure CLI (az) is required: https://learn.microsoft.com/cli/azure/install-azure-cli'
    exit 1
}
if ((Invoke-Az @('account', 'show', '--output', 'none')).ExitCode -ne 0) {
    Write-Log "the Azure CLI is not signed in; run 'az login' (azd and az keep separate sign-ins)"
    exit 1
}
