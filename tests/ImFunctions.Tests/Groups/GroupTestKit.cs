using System.Text.Json;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Groups;

/// <summary>Small helpers for group tests: make a group, send into it, read what its members see.</summary>
static class GroupTestKit
{
    public static async Task<string> CreateGroupAsync(this TestUser owner, params TestUser[] members) =>
        (await owner.PostAsync("chooseUserIntoGroup", new { user_ids = members.Select(m => m.Uid).ToArray() }))
        .AssertOk().Data.GetProperty("group_id").GetString()!;

    public static async Task<string> CreateGroupAsync(this TestUser owner, object groupInfo, params TestUser[] members) =>
        (await owner.PostAsync("chooseUserIntoGroup", new { groupInfo, user_ids = members.Select(m => m.Uid).ToArray() }))
        .AssertOk().Data.GetProperty("group_id").GetString()!;

    public static Task<ApiReply> SayAsync(this TestUser user, string groupId, string text, string? clientMsgId = null) =>
        user.PostAsync("sendMsg", new { group_id = groupId, appId = "__UNI__TEST", type = "text", body = text, client_msg_id = clientMsgId });

    public static async Task<JsonElement[]> HistoryAsync(this TestUser user, string groupId, int limit = 100) =>
        (await user.PostAsync("getMsgList", new { conversation_id = "group_" + groupId, after_seq = 0, limit })).AssertOk().Data.EnumerateArray().ToArray();

    public static string[] Actions(this IEnumerable<JsonElement> messages) =>
        messages.Where(m => m.GetProperty("type").GetString() == "system").Select(m => m.GetProperty("body").GetProperty("action").GetString()!).ToArray();

    public static string[] Texts(this IEnumerable<JsonElement> messages) =>
        messages.Where(m => m.GetProperty("type").GetString() == "text").Select(m => m.GetProperty("body").GetString()!).ToArray();

    public static async Task<string[]> MemberIdsAsync(this TestUser user, string groupId) =>
        (await user.PostAsync("getGroupMembers", new { group_id = groupId, limit = 500 })).AssertOk().Data.EnumerateArray()
        .Select(m => m.GetProperty("user_id").GetString()!).Order(StringComparer.Ordinal).ToArray();

    public static async Task<JsonElement> InfoAsync(this TestUser user, string groupId) =>
        (await user.PostAsync("getGroupInfo", new { group_id = groupId })).AssertOk().Data;

    public static string[] Sorted(params TestUser[] users) => users.Select(u => u.Uid).Order(StringComparer.Ordinal).ToArray();
}
