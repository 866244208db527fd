// The app's identities. User-assigned rather than system-assigned so they (and their role
// assignments) exist before the function app does and survive re-creating it.
//
// Two of them rather than one: the read path (host storage, Key Vault Secrets User, telemetry) and
// secret rotation (Key Vault Secrets Officer) authenticate as different principals. Both are attached
// to the same app, so this is not a hard boundary against code running in the process; what it buys is
// that only the rotation code path (ROTATION_CLIENT_ID) ever asks for a token that can write secrets,
// Key Vault's audit log tells rotation writes from reads, and removing one role assignment turns
// rotation off without touching the read path.
param location string
param tags object
param appIdentityName string
param rotationIdentityName string

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: appIdentityName
  location: location
  tags: tags
}

resource rotationIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: rotationIdentityName
  location: location
  tags: tags
}

output appIdentityId string = appIdentity.id
output appClientId string = appIdentity.properties.clientId
output appPrincipalId string = appIdentity.properties.principalId
output rotationIdentityId string = rotationIdentity.id
output rotationClientId string = rotationIdentity.properties.clientId
output rotationPrincipalId string = rotationIdentity.properties.principalId
