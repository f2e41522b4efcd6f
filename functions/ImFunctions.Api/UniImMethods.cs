using ImFunctions.Api.Accounts;
using ImFunctions.Api.Auth;
using ImFunctions.Api.Conversations;
using ImFunctions.Api.Groups;
using ImFunctions.Api.Friends;
using ImFunctions.Api.Hosting;
using ImFunctions.Api.Integrations;
using ImFunctions.Api.Messages;
using ImFunctions.Api.Push;
using ImFunctions.Api.Users;

namespace ImFunctions.Api;

/// <summary>Every uni-im method, from every feature: what both hosts serve and the fuzz tests walk.</summary>
public static class UniImMethods
{
    public static ImMethodTable Create() => new ImMethodTable()
        .AddAuth()
        .AddMessages()
        .AddMessageLifecycle()
        .AddConversations()
        .AddUsers()
        .AddPush()
        .AddGroups()
        .AddFriends()
        .AddConversationSettings()
        .AddServerMethods()

        .AddAccounts();
}
