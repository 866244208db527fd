// Logs and telemetry. Application Insights refuses instrumentation-key ingestion (DisableLocalAuth),
// so only the app's identity, holding Monitoring Metrics Publisher (rbac.bicep), can send telemetry.
param location string
param tags object
param logAnalyticsName string
param applicationInsightsName string

@description('Days of log retention; 30 is included in the Log Analytics price.')
param retentionInDays int = 30

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    retentionInDays: retentionInDays
    sku: {
      name: 'PerGB2018'
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    DisableLocalAuth: true
  }
}

output applicationInsightsName string = applicationInsights.name
// Not a secret: without local auth the connection string only says where to send, not who may.
output connectionString string = applicationInsights.properties.ConnectionString
