// Cosmos DB for NoSQL: the account, database `im` and its containers. The container list
// below is the one place their shape is defined; the Cosmos store matches it exactly and the app
// runs with Cosmos__CreateIfMissing=false, so nothing else creates or alters them.

param accountName string
param location string
param tags object
param appPrincipalId string

@description('0 = serverless (default). Otherwise the account is provisioned and the database gets shared autoscale throughput with this maximum RU/s.')
@minValue(0)
param autoscaleMaxThroughput int = 0

param databaseName string = 'im'

type containerSpec = {
  name: string
  partitionKey: string
  @description('Paths kept in the index; everything else (/*) is excluded.')
  indexedPaths: string[]
  uniqueKeys: string[]
  @description('-1 = TTL on with no default expiry (per-item ttl only); null = TTL off.')
  defaultTtl: int?
}

var containers containerSpec[] = [
  {
    // id = internal uid; point reads and ReadMany only.
    name: 'users'
    partitionKey: '/id'
    indexedPaths: []
    uniqueKeys: []
  }
  {
    // id = external uid (openid); the doc carries the internal `uid`.
    name: 'extUids'
    partitionKey: '/id'
    indexedPaths: []
    uniqueKeys: []
  }
  {
    // One row per user per conversation; the list is one single-partition query by update_time.
    // The partition key is indexed too: Cosmos leaves a key other than /id out of the index, and every
    // query repeats its partition filter in the WHERE clause.
    name: 'conversations'
    partitionKey: '/user_id'
    // list_key = update_time and id in one string: the filtered list's keyset order (one ORDER BY property).
    // unread_count: the badge and the unread filter read only the rows with something unread.
    indexedPaths: ['/user_id/?', '/update_time/?', '/type/?', '/list_key/?', '/unread_count/?']
    uniqueKeys: []
  }
  {
    // id = message _id. The unique key is per partition, so seq is unique per conversation.
    // Cosmos counts a missing /seq as a value too: at most one item per conversation may lack it.
    name: 'messages'
    partitionKey: '/conversation_id'
    indexedPaths: ['/conversation_id/?', '/seq/?', '/update_time/?']
    uniqueKeys: ['/seq']
    defaultTtl: -1
  }
  {
    // One partition per chat group: the group record (id 'group'), member records ('m.<uid>'), join
    // requests ('r.<request id>') and blacklist entries ('b.<uid>'), told apart by `kind`.
    name: 'groups'
    partitionKey: '/group_id'
    indexedPaths: ['/group_id/?', '/kind/?', '/user_id/?', '/is_current/?', '/read_seq/?', '/state/?']
    uniqueKeys: []
  }
  {
    // A user's social graph: friend rows (friend_<uid>), invites (in_/out_<invite id>), blocks (block_<uid>).
    // Point reads by deterministic id; lists are one query by kind ordered by sort_key.
    name: 'friends'
    partitionKey: '/user_id'
    indexedPaths: ['/user_id/?', '/kind/?', '/sort_key/?']
    uniqueKeys: []
  }
  {
    // id = "<key id>:<nonce>" of a signed server-to-server call; the create refuses a replay, the per-item
    // ttl drops it once its timestamp is out of the window.
    name: 'nonces'
    partitionKey: '/id'
    indexedPaths: []
    uniqueKeys: []
    defaultTtl: -1
  }
  {
    // The webhook outbox: one lane (`events`), queried by due_at; delivered events are deleted.
    name: 'outbox'
    partitionKey: '/lane'
    indexedPaths: ['/lane/?', '/due_at/?']
    uniqueKeys: []
  }
]

var serverless = autoscaleMaxThroughput == 0

// Cosmos DB Built-in Data Contributor (data plane, not Azure RBAC).
var dataContributorRoleId = '00000000-0000-0000-0000-000000000002'

resource account 'Microsoft.DocumentDB/databaseAccounts@2026-03-15' = {
  name: accountName
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    capabilities: serverless ? [{ name: 'EnableServerless' }] : []
    // Keys are off: the app authenticates with its managed identity (DefaultAzureCredential).
    disableLocalAuth: true
    minimalTlsVersion: 'Tls12'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2026-03-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
    options: serverless ? {} : { autoscaleSettings: { maxThroughput: autoscaleMaxThroughput } }
  }
}

resource sqlContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2026-03-15' = [
  for c in containers: {
    parent: database
    name: c.name
    properties: {
      resource: {
        id: c.name
        partitionKey: {
          paths: [c.partitionKey]
          kind: 'Hash'
          version: 2
        }
        indexingPolicy: {
          indexingMode: 'consistent'
          automatic: true
          includedPaths: [for p in c.indexedPaths: { path: p }]
          excludedPaths: [{ path: '/*' }]
        }
        uniqueKeyPolicy: {
          uniqueKeys: [for k in c.uniqueKeys: { paths: [k] }]
        }
        defaultTtl: c.?defaultTtl
      }
    }
  }
]

resource dataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleDefinitions@2026-03-15' existing = {
  parent: account
  name: dataContributorRoleId
}

resource appDataAccess 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2026-03-15' = {
  parent: account
  name: guid(account.id, appPrincipalId, dataContributorRoleId)
  properties: {
    roleDefinitionId: dataContributor.id
    principalId: appPrincipalId
    scope: account.id
  }
}

output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
output containerNames string[] = [for c in containers: c.name]
