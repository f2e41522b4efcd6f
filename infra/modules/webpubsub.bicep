// Azure Web PubSub with the hub `im`. Clients connect with access URLs the app signs; the
// app sends with the REST API. Both use the access key (see docs/deploy.md), so local auth
// stays on. The app identity also gets Web PubSub Service Owner, for a later switch to
// Entra tokens (`:generateToken`) without another infra change.

param name string
param location string
param tags object
param appPrincipalId string
param hubName string = 'im'

@allowed(['Free_F1', 'Standard_S1', 'Premium_P1'])
param skuName string = 'Standard_S1'

@description('Units: 1,000 concurrent connections each (Free_F1: 1 unit, 20 connections).')
@minValue(1)
param capacity int = 1

var webPubSubServiceOwner = '12cf5a90-567b-43ae-8102-96cf46c7d9b4'

resource webPubSub 'Microsoft.SignalRService/webPubSub@2024-03-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: split(skuName, '_')[0]
    capacity: capacity
  }
  properties: {
    disableLocalAuth: false
    disableAadAuth: false
    publicNetworkAccess: 'Enabled'
  }
}

resource hub 'Microsoft.SignalRService/webPubSub/hubs@2024-03-01' = {
  parent: webPubSub
  name: hubName
  properties: {
    // Only clients holding a token the app signed (negotiate) may connect.
    anonymousConnectPolicy: 'deny'
    eventHandlers: []
  }
}

resource serviceOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(webPubSub.id, appPrincipalId, webPubSubServiceOwner)
  scope: webPubSub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', webPubSubServiceOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = webPubSub.name
output hubName string = hub.name
output hostName string = webPubSub.properties.hostName
