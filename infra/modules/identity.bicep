// The one identity the Function App runs as. Every data-plane grant in this folder targets it,
// so the app holds no storage key, no Cosmos key and reads its secrets through Key Vault.

param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
