// The vault every sample component and caller token reads from, and the Event Grid system topic that
// publishes its secret events (the subscription to onKeyVaultEvent is created by the postdeploy hook,
// because an AzureFunction destination must point at a function that already exists).
param location string
param tags object
param name string
param systemTopicName string
param softDeleteRetentionInDays int
@description('Purge protection on (true) or left off (false, throwaway environments only).')
param purgeProtection bool

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    // Azure RBAC instead of access policies: access is granted per identity and per role in
    // rbac.bicep, auditable like every other role assignment.
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // A deleted vault or secret can always be recovered within the retention period, by anyone,
    // including whoever deleted it by mistake. Once on, this cannot be turned off, and the deleted
    // vault keeps its name for the whole retention period (docs/deploy.md, Redeploying).
    // Key Vault rejects an explicit false, so "off" means leaving the property out (null).
    enablePurgeProtection: purgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// System topics live in the source's region and have no endpoint of their own.
resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: location
  tags: tags
  properties: {
    source: vault.id
    topicType: 'Microsoft.KeyVault.vaults'
  }
}

output name string = vault.name
output id string = vault.id
// Ends with a slash, e.g. https://kv-abc.vault.azure.net/
output uri string = vault.properties.vaultUri
output systemTopicName string = systemTopic.name
