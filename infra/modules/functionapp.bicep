// The Function App: the .NET isolated worker (functions/ImFunctions.Functions), packaged by infra/package.sh.
// Flex Consumption (FC1) by default; Elastic Premium (EP1-EP3) behind `plan`.
//
// Flex sets the runtime in functionAppConfig.runtime and rejects FUNCTIONS_WORKER_RUNTIME /
// FUNCTIONS_EXTENSION_VERSION as app settings; Premium needs both as app settings. Premium
// runs without an Azure Files content share (that share needs a storage key): it runs the
// package from the deployment container by URL, read with the app identity.

param appName string
param planName string
param location string
param tags object

@allowed(['FC1', 'EP1', 'EP2', 'EP3'])
param plan string = 'FC1'

param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerUrl string
param appInsightsConnectionString string

@description('The app\'s own settings (name/value pairs), added after the platform ones.')
param appSettings array

@description('Flex: the most instances the app may scale out to. Premium: the plan\'s maximum burst.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Flex: instances kept warm for the HTTP functions (0 = scale to zero).')
@minValue(0)
param alwaysReadyInstances int = 0

@description('Flex: concurrent HTTP requests one instance takes before the platform adds another (0 = platform default, which depends on instance memory).')
@minValue(0)
param httpPerInstanceConcurrency int = 0

@description('The .NET version of the dotnet-isolated stack; the worker targets net10.0.')
param dotnetVersion string = '10.0'

@description('Origins allowed to call the API from a browser; empty = no CORS headers.')
param corsAllowedOrigins string[] = []

var isFlex = plan == 'FC1'
var packageName = 'imfunctions.zip'

resource hostingPlan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: isFlex ? 'functionapp' : 'elastic'
  sku: isFlex
    ? {
        name: 'FC1'
        tier: 'FlexConsumption'
      }
    : {
        name: plan
        tier: 'ElasticPremium'
      }
  properties: {
    reserved: true // Linux
    maximumElasticWorkerCount: isFlex ? null : maximumInstanceCount
  }
}

// Host storage through the user-assigned identity: no AzureWebJobsStorage connection string.
var platformSettings = [
  { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
  // DefaultAzureCredential in the app (Cosmos) picks this identity.
  { name: 'AZURE_CLIENT_ID', value: identityClientId }
]

var premiumSettings = isFlex
  ? []
  : [
      { name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' }
      { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'dotnet-isolated' }
      { name: 'WEBSITE_RUN_FROM_PACKAGE', value: '${deploymentContainerUrl}/${packageName}' }
      { name: 'WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID', value: identityId }
    ]

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: appName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: hostingPlan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      linuxFxVersion: isFlex ? null : 'DOTNET-ISOLATED|${dotnetVersion}'
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      cors: empty(corsAllowedOrigins) ? null : { allowedOrigins: corsAllowedOrigins }
      appSettings: concat(platformSettings, premiumSettings, appSettings)
    }
    functionAppConfig: isFlex
      ? {
          deployment: {
            storage: {
              type: 'blobContainer'
              value: deploymentContainerUrl
              authentication: {
                type: 'UserAssignedIdentity'
                userAssignedIdentityResourceId: identityId
              }
            }
          }
          scaleAndConcurrency: {
            maximumInstanceCount: maximumInstanceCount
            instanceMemoryMB: instanceMemoryMB
            alwaysReady: alwaysReadyInstances > 0 ? [{ name: 'http', instanceCount: alwaysReadyInstances }] : []
            triggers: httpPerInstanceConcurrency > 0 ? { http: { perInstanceConcurrency: httpPerInstanceConcurrency } } : null
          }
          runtime: {
            name: 'dotnet-isolated'
            version: dotnetVersion
          }
        }
      : null
  }
}

output name string = functionApp.name
output url string = 'https://${functionApp.properties.defaultHostName}'
