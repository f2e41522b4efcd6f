// Key Vault in RBAC mode with the app's three secrets. The app reads them as Key Vault
// references (versionless URIs), so a new secret version reaches the app on restart.
// Secret names use `--` where the app setting uses `__` (Key Vault allows no underscore).

param name string
param location string
param tags object
param appPrincipalId string
param webPubSubName string

@secure()
param jwtSecret string

@secure()
param tokenSecret string

@description('Signs webhook calls (Webhooks__Secret); empty = no webhooks, no secret stored.')
@secure()
param webhookSecret string = ''

@description('Server-to-server keys by key id (S2S__Keys__<id>); each stored as its own secret.')
@secure()
param s2sKeys object = {}

var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    publicNetworkAccess: 'Enabled'
  }
}

resource webPubSub 'Microsoft.SignalRService/webPubSub@2024-03-01' existing = {
  name: webPubSubName
}

resource jwtSecretValue 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = {
  parent: vault
  name: 'UniIm--JwtSecret'
  properties: {
    value: jwtSecret
  }
}

resource tokenSecretValue 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = {
  parent: vault
  name: 'Auth--TokenSecret'
  properties: {
    value: tokenSecret
  }
}

resource webPubSubConnection 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = {
  parent: vault
  name: 'WebPubSub--ConnectionString'
  properties: {
    value: webPubSub.listKeys().primaryConnectionString
  }
}

resource webhookSecretValue 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = if (!empty(webhookSecret)) {
  parent: vault
  name: 'Webhooks--Secret'
  properties: {
    value: webhookSecret
  }
}

resource s2sKeyValues 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = [
  for key in items(s2sKeys): {
    parent: vault
    name: 'S2S--Keys--${key.key}'
    properties: {
      value: key.value
    }
  }
]

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Versionless URIs, ready for `@Microsoft.KeyVault(SecretUri=...)`; not the values.
output references object = {
  jwt: '@Microsoft.KeyVault(SecretUri=${jwtSecretValue.properties.secretUri})'
  token: '@Microsoft.KeyVault(SecretUri=${tokenSecretValue.properties.secretUri})'
  webPubSub: '@Microsoft.KeyVault(SecretUri=${webPubSubConnection.properties.secretUri})'
}
output name string = vault.name
