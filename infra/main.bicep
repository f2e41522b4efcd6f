// One ImFunctions environment: Function App (.NET isolated worker), its storage and monitoring,
// Cosmos DB, Web PubSub and Key Vault, wired together through one user-assigned identity.
// Deploy: docs/deploy.md.

@description('Short environment name, part of every resource name (lowercase letters and digits).')
@minLength(2)
@maxLength(8)
param environmentName string

param location string = resourceGroup().location

@description('FC1 = Flex Consumption (default). EP1-EP3 = Elastic Premium.')
@allowed(['FC1', 'EP1', 'EP2', 'EP3'])
param functionPlan string = 'FC1'

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Flex only: instances kept warm for the HTTP functions (0 = scale to zero).')
@minValue(0)
param alwaysReadyInstances int = 0

@description('Flex only: concurrent HTTP requests per instance before scale-out (0 = platform default).')
@minValue(0)
param httpPerInstanceConcurrency int = 0

@description('0 = Cosmos DB serverless. Otherwise the database gets shared autoscale throughput up to this many RU/s (a multiple of 1000, at least 1000). Fixed at account creation: serverless cannot be switched by redeploying.')
@minValue(0)
param cosmosAutoscaleMaxThroughput int = 0

@allowed(['Free_F1', 'Standard_S1', 'Premium_P1'])
param webPubSubSku string = 'Standard_S1'

@description('Web PubSub units (1,000 concurrent connections each); Standard and Premium sell these steps.')
@allowed([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
param webPubSubUnits int = 1

@description('Legacy-login key shared with the backends that own the accounts (uni-im jwtSecret). At least 32 characters.')
@secure()
@minLength(32)
param jwtSecret string

@description('Key that signs ImFunctions tokens; must differ from jwtSecret. At least 32 characters.')
@secure()
@minLength(32)
param tokenSecret string

@description('uni-im admin_uid: one uid, or several as "uid1,uid2"; empty = no admin rule.')
param adminUid string = ''

@description('uni-im conversation_grade: \'0\' anyone, \'100\' customer service/friends/groups, \'200\' friends/groups; empty = unset, so only the admin_uid rule applies.')
@allowed(['', '0', '100', '200'])
param conversationGrade string = ''

@description('Signs webhook calls; required when a webhook URL is set. At least 32 characters, unlike the other secrets.')
@secure()
param webhookSecret string = ''

@description('Server-to-server keys by key id, e.g. { "crm-2026": "<32+ chars>" }; two ids while rotating.')
@secure()
param s2sKeys object = {}

@description('Webhooks__EventsUrl: receives message.sent and the other events; empty = events off.')
param webhookEventsUrl string = ''

@description('Webhooks__BeforeSendUrl: asked before each user message is stored; empty = off.')
param webhookBeforeSendUrl string = ''

@description('Browser origins allowed to call the API (CORS); empty = none.')
param corsAllowedOrigins string[] = []

var token = uniqueString(resourceGroup().id, environmentName)
var tags = {
  app: 'imfunctions'
  environment: environmentName
}
var hubName = 'im'
var keyVaultName = 'kv-im-${token}'

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: 'id-im-${environmentName}-${token}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: 'log-im-${environmentName}-${token}'
    appInsightsName: 'appi-im-${environmentName}-${token}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: 'stim${token}'
    location: location
    tags: tags
    deploymentContainerName: 'app-package'
    appPrincipalId: identity.outputs.principalId
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  params: {
    accountName: 'cosmos-im-${environmentName}-${token}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
    autoscaleMaxThroughput: cosmosAutoscaleMaxThroughput
  }
}

module webPubSub 'modules/webpubsub.bicep' = {
  name: 'webpubsub'
  params: {
    name: 'wps-im-${environmentName}-${token}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
    hubName: hubName
    skuName: webPubSubSku
    capacity: webPubSubUnits
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: keyVaultName
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
    webPubSubName: webPubSub.outputs.name
    jwtSecret: jwtSecret
    tokenSecret: tokenSecret
    webhookSecret: webhookSecret
    s2sKeys: s2sKeys
  }
}

// Server-to-server keys, referenced by vault and secret name (versionless) as the keyvault module stores them.
var s2sKeySettings = [
  for id in objectKeys(s2sKeys): {
    name: 'S2S__Keys__${id}'
    value: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=S2S--Keys--${id})'
  }
]

// The app's settings, by the names it reads (`__` = configuration section separator).
var appSettings = concat(
  [
    { name: 'Storage__Provider', value: 'cosmos' }
    { name: 'Cosmos__Endpoint', value: cosmos.outputs.endpoint }
    { name: 'Cosmos__Database', value: cosmos.outputs.databaseName }
    { name: 'Cosmos__CreateIfMissing', value: 'false' }
    { name: 'Push__Provider', value: 'webpubsub' }
    { name: 'WebPubSub__ConnectionString', value: keyVault.outputs.references.webPubSub }
    { name: 'WebPubSub__Hub', value: webPubSub.outputs.hubName }
    { name: 'UniIm__JwtSecret', value: keyVault.outputs.references.jwt }
    { name: 'Auth__TokenSecret', value: keyVault.outputs.references.token }
    // Every request reaches the app through the platform's front end, which appends the client's address here.
    { name: 'RateLimit__ForwardedForHeader', value: 'X-Forwarded-For' }
  ],
  // Unset differs from '0' / 'false' in uni-im's rules, so an empty parameter leaves the setting out.
  empty(adminUid) ? [] : [{ name: 'UniIm__AdminUid', value: adminUid }],
  empty(conversationGrade) ? [] : [{ name: 'UniIm__ConversationGrade', value: conversationGrade }],
  s2sKeySettings,
  empty(webhookSecret) ? [] : [{ name: 'Webhooks__Secret', value: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=Webhooks--Secret)' }],
  empty(webhookEventsUrl) ? [] : [{ name: 'Webhooks__EventsUrl', value: webhookEventsUrl }],
  empty(webhookBeforeSendUrl) ? [] : [{ name: 'Webhooks__BeforeSendUrl', value: webhookBeforeSendUrl }]
)

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    appName: 'func-im-${environmentName}-${token}'
    planName: 'plan-im-${environmentName}-${token}'
    location: location
    tags: tags
    plan: functionPlan
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appInsightsConnectionString: monitoring.outputs.connectionString
    appSettings: appSettings
    maximumInstanceCount: maximumInstanceCount
    alwaysReadyInstances: alwaysReadyInstances
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    corsAllowedOrigins: corsAllowedOrigins
  }
}

output functionAppName string = functionApp.outputs.name
output functionAppUrl string = functionApp.outputs.url
output storageAccountName string = storage.outputs.name
output deploymentContainerUrl string = storage.outputs.deploymentContainerUrl
output cosmosEndpoint string = cosmos.outputs.endpoint
output keyVaultName string = keyVault.outputs.name
output webPubSubHostName string = webPubSub.outputs.hostName
