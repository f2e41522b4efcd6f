// A dev environment. No secret lives in this file: the two signing keys come from the
// deploying shell (export them first, see docs/deploy.md); the Web PubSub key is read by the
// template itself and stored straight into Key Vault.
using 'main.bicep'

param environmentName = 'dev'
param functionPlan = 'FC1'
param maximumInstanceCount = 40
param cosmosAutoscaleMaxThroughput = 0 // serverless
param webPubSubSku = 'Standard_S1'
param webPubSubUnits = 1
param conversationGrade = '' // unset: only admin_uid applies (and it is empty)
param jwtSecret = readEnvironmentVariable('IMFUNCTIONS_JWT_SECRET')
param tokenSecret = readEnvironmentVariable('IMFUNCTIONS_TOKEN_SECRET')
