// Storage for the sample state stores (components/statestore.yaml: Blob; tablestore.yaml: Table).
//
// Kept apart from the app's own account on purpose: this one allows shared keys, because the sample
// components authenticate with an account key they read from Key Vault (the Dapr "secretKeyRef" seed
// scenario). The app's account stays identity-only, and this key can never reach host or rotation data.
// To go keyless, give the components `azureClientId` instead of `accountKey`, grant the app identity
// data roles on this account, then set allowSharedKeyAccess to false.
//
// The Key Vault secrets the components read (storage-account-name, storage-account-key,
// storage-container) are NOT written here: a Bicep secret resource overwrites the value on every
// provision, which would undo every rotation of the key. The postprovision hook creates each of them
// only when it is missing (scripts/postprovision.sh).
param location string
param tags object
param name string
param containerName string
param tableName string

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
    // Required by the account-key components; see the note at the top.
    allowSharedKeyAccess: true
    allowBlobPublicAccess: false
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

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2024-01-01' = {
  parent: account
  name: 'default'
}

resource table 'Microsoft.Storage/storageAccounts/tableServices/tables@2024-01-01' = {
  parent: tableService
  name: tableName
}

output name string = account.name
output containerName string = container.name
