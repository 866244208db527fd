// The app's own storage account (AzureWebJobsStorage): Functions host state (timer schedules, keys),
// the Flex Consumption deployment package, and vaultstate's coordination data: the shared secret
// version table (cross-instance coherence), rotation lease blobs and the rotation audit table.
//
// Identity-only: shared keys are off, so nothing that leaks a connection string can reach it. The
// app identity holds Blob Data Owner and Table Data Contributor here (rbac.bicep).
param location string
param tags object
param name string
param deploymentContainerName string
param lockContainerName string
param versionTableName string
param auditTableName string

resource account 'Microsoft.Storage/storageAccounts@2024-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    // Portal and CLI use Entra ID by default too, consistent with shared keys being off.
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' = {
  parent: account
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// The app would create these on first use; creating them here makes a wrong role assignment fail
// loudly at the first rotation instead of hiding behind a "create if missing" path.
resource lockContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = {
  parent: blobService
  name: lockContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2024-01-01' = {
  parent: account
  name: 'default'
}

resource versionTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2024-01-01' = {
  parent: tableService
  name: versionTableName
}

resource auditTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2024-01-01' = {
  parent: tableService
  name: auditTableName
}

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output tableEndpoint string = account.properties.primaryEndpoints.table
