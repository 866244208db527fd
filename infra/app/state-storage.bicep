// Storage for the sample state stores (components/statestore.yaml: Blob; tablestore.yaml: Table).
//
// Kept apart from the app's own account on purpose: this one allows shared keys, because the sample
// components authenticate with an account key they read from Key Vault (the Dapr "secretKeyRef" seed
// scenario). The app's account stays identity-only, and this key can never reach host or rotation data.
// To go keyless, give the components `azureClientId` instead of `accountKey`, grant the app identity
// data roles on this account, then set allowSharedKeyAccess to false.
param location string
param tags object
param name string
param containerName string
param tableName string
param keyVaultName string
param seedSecrets bool

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

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

// The seed secrets the components' secretKeyRefs name. Written here, next to the account, so the key
// goes from listKeys() straight into Key Vault and never passes through a module output or the azd
// environment. An unchanged value is reported not to add a version on re-deployment (Azure/bicep#6448);
// a changed one (a regenerated key1) does, and the app picks it up from SecretNewVersionCreated.
resource accountNameSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (seedSecrets) {
  parent: vault
  name: 'storage-account-name'
  properties: {
    value: account.name
    contentType: 'text/plain'
  }
}

resource accountKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (seedSecrets) {
  parent: vault
  name: 'storage-account-key'
  properties: {
    value: account.listKeys().keys[0].value
    contentType: 'text/plain'
  }
}

resource containerSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (seedSecrets) {
  parent: vault
  name: 'storage-container'
  properties: {
    value: container.name
    contentType: 'text/plain'
  }
}

output name string = account.name
