// Every role assignment of the deployment, each scoped to the one resource it is about (never the
// resource group), so the grants read as a complete list of who may do what.
//
// Assignment names are guid(scope, principal, role): deterministic, so re-provisioning is a no-op
// instead of a RoleAssignmentExists conflict.
param appStorageAccountName string
param applicationInsightsName string
param keyVaultName string
@description('The state account (sample state stores), whose keys automatic rotation regenerates.')
param stateStorageAccountName string
@description('Grant the rotation identity its write roles (Key Vault Secrets Officer, Storage Account Key Operator Service Role).')
param rotationEnabled bool
param appPrincipalId string
param rotationPrincipalId string
@description('Whoever runs azd; empty skips the assignment.')
param deployerPrincipalId string
param deployerPrincipalType string

// Built-in role definition ids (identical in every tenant).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  storageAccountKeyOperator: '81a9662b-bebf-436f-a333-f67b29880f12'
}

resource appStorage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: appStorageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource stateStorage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: stateStorageAccountName
}

// App identity → app storage, blobs: the Functions host (AzureWebJobsStorage), the Flex deployment
// package and the rotation lease blobs. Owner rather than Contributor because the host manages blob
// leases and containers for its own state, as in the Flex Consumption samples.
resource appStorageBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appStorage.id, appPrincipalId, roles.storageBlobDataOwner)
  scope: appStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// App identity → app storage, tables: the shared version table and the rotation audit table.
// No queue role: nothing here uses queues (no Durable Functions, no queue triggers).
resource appStorageTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appStorage.id, appPrincipalId, roles.storageTableDataContributor)
  scope: appStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// App identity → Application Insights: telemetry with Entra ID auth (local auth is off).
resource appTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, appPrincipalId, roles.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// App identity → vault, read only: the secretstore component, Key Vault references and caller tokens.
resource appSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Rotation identity → vault, read and write: staging (<name>--pending), promotion and tagging.
// Only with rotation on: without it the rotation identity holds no write role anywhere.
resource rotationSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (rotationEnabled) {
  name: guid(vault.id, rotationPrincipalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: rotationPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Rotation identity → state account, list and regenerate keys (the `arm` key-pair source). Scoped to
// this one account: the host account has shared keys off and no other account's keys are rotated.
resource rotationKeyOperator 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (rotationEnabled) {
  name: guid(stateStorage.id, rotationPrincipalId, roles.storageAccountKeyOperator)
  scope: stateStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageAccountKeyOperator)
    principalId: rotationPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Deployer → vault, read and write: the postprovision hook creates missing caller tokens, and
// operators set or rotate secrets by hand (docs/deploy.md).
resource deployerSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(vault.id, deployerPrincipalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}
