using ImFunctions.Api.Health;
using ImFunctions.Api.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace ImFunctions.Functions;

/// <summary>
/// One Azure Function per uni-im method, each a single line into the pipeline the local host runs too. Anonymous
/// at the Functions level: the pipeline checks our own tokens and signatures. A test holds this list equal to
/// <c>UniImMethods.Create()</c>.
/// </summary>
public sealed class UniImFunctions(ImPipeline pipeline)
{
    // The pipeline writes the whole response; the empty result keeps the http output binding the host expects.
    async Task<IActionResult> Run(HttpRequest req, string method)
    {
        await pipeline.InvokeAsync(req.HttpContext, method);
        return new EmptyResult();
    }

    [Function("loginWithJWT")]
    public Task<IActionResult> LoginWithJWT([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "loginWithJWT")] HttpRequest req) => Run(req, "loginWithJWT");

    [Function("sendMsg")]
    public Task<IActionResult> SendMsg([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "sendMsg")] HttpRequest req) => Run(req, "sendMsg");

    [Function("getMsgList")]
    public Task<IActionResult> GetMsgList([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "getMsgList")] HttpRequest req) => Run(req, "getMsgList");

    [Function("getConversationList")]
    public Task<IActionResult> GetConversationList([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "getConversationList")] HttpRequest req) => Run(req, "getConversationList");

    [Function("clearUnreadCount")]
    public Task<IActionResult> ClearUnreadCount([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "clearUnreadCount")] HttpRequest req) => Run(req, "clearUnreadCount");

    [Function("getUserInfo")]
    public Task<IActionResult> GetUserInfo([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "getUserInfo")] HttpRequest req) => Run(req, "getUserInfo");

    [Function("getUserIdByExtUid")]
    public Task<IActionResult> GetUserIdByExtUid([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "getUserIdByExtUid")] HttpRequest req) => Run(req, "getUserIdByExtUid");

    [Function("negotiate")]
    public Task<IActionResult> Negotiate([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "negotiate")] HttpRequest req) => Run(req, "negotiate");

    [Function("addToGroupMenberBlackList")]
    public Task<IActionResult> AddToGroupMenberBlackList([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "addToGroupMenberBlackList")] HttpRequest req) => Run(req, "addToGroupMenberBlackList");

    [Function("applyJoinGroup")]
    public Task<IActionResult> ApplyJoinGroup([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "applyJoinGroup")] HttpRequest req) => Run(req, "applyJoinGroup");

    [Function("chooseUserIntoGroup")]
    public Task<IActionResult> ChooseUserIntoGroup([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "chooseUserIntoGroup")] HttpRequest req) => Run(req, "chooseUserIntoGroup");

    [Function("dissolveGroup")]
    public Task<IActionResult> DissolveGroup([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "dissolveGroup")] HttpRequest req) => Run(req, "dissolveGroup");

    [Function("expelGroupMember")]
    public Task<IActionResult> ExpelGroupMember([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "expelGroupMember")] HttpRequest req) => Run(req, "expelGroupMember");

    [Function("getGroupInfo")]
    public Task<IActionResult> GetGroupInfo([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "getGroupInfo")] HttpRequest req) => Run(req, "getGroupInfo");

    [Function("getGroupMembers")]
    public Task<IActionResult> GetGroupMembers([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "getGroupMembers")] HttpRequest req) => Run(req, "getGroupMembers");

    [Function("getJoinGroupRequests")]
    public Task<IActionResult> GetJoinGroupRequests([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "getJoinGroupRequests")] HttpRequest req) => Run(req, "getJoinGroupRequests");

    [Function("getMsgReadInfo")]
    public Task<IActionResult> GetMsgReadInfo([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "getMsgReadInfo")] HttpRequest req) => Run(req, "getMsgReadInfo");

    [Function("getMyGroups")]
    public Task<IActionResult> GetMyGroups([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "getMyGroups")] HttpRequest req) => Run(req, "getMyGroups");

    [Function("handleJoinGroupRequest")]
    public Task<IActionResult> HandleJoinGroupRequest([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "handleJoinGroupRequest")] HttpRequest req) => Run(req, "handleJoinGroupRequest");

    [Function("muteGroupMember")]
    public Task<IActionResult> MuteGroupMember([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "muteGroupMember")] HttpRequest req) => Run(req, "muteGroupMember");

    [Function("quitGroup")]
    public Task<IActionResult> QuitGroup([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "quitGroup")] HttpRequest req) => Run(req, "quitGroup");

    [Function("removeFromGroupBlackList")]
    public Task<IActionResult> RemoveFromGroupBlackList([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "removeFromGroupBlackList")] HttpRequest req) => Run(req, "removeFromGroupBlackList");

    [Function("setGroupAdmin")]
    public Task<IActionResult> SetGroupAdmin([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "setGroupAdmin")] HttpRequest req) => Run(req, "setGroupAdmin");

    [Function("transferGroupOwner")]
    public Task<IActionResult> TransferGroupOwner([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "transferGroupOwner")] HttpRequest req) => Run(req, "transferGroupOwner");

    [Function("updateGroupInfo")]
    public Task<IActionResult> UpdateGroupInfo([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "updateGroupInfo")] HttpRequest req) => Run(req, "updateGroupInfo");

    [Function("rejectFriendInvite")]
    public Task<IActionResult> RejectFriendInvite([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "rejectFriendInvite")] HttpRequest req) => Run(req, "rejectFriendInvite");

    [Function("blockUser")]
    public Task<IActionResult> BlockUser([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "blockUser")] HttpRequest req) => Run(req, "blockUser");

    [Function("setConversation")]
    public Task<IActionResult> SetConversation([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "setConversation")] HttpRequest req) => Run(req, "setConversation");

    [Function("markConversationUnread")]
    public Task<IActionResult> MarkConversationUnread([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "markConversationUnread")] HttpRequest req) => Run(req, "markConversationUnread");

    [Function("deleteFriend")]
    public Task<IActionResult> DeleteFriend([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "deleteFriend")] HttpRequest req) => Run(req, "deleteFriend");

    [Function("getFriendInvites")]
    public Task<IActionResult> GetFriendInvites([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "getFriendInvites")] HttpRequest req) => Run(req, "getFriendInvites");

    [Function("acceptFriendInvite")]
    public Task<IActionResult> AcceptFriendInvite([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "acceptFriendInvite")] HttpRequest req) => Run(req, "acceptFriendInvite");

    [Function("getUnreadCount")]
    public Task<IActionResult> GetUnreadCount([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "getUnreadCount")] HttpRequest req) => Run(req, "getUnreadCount");

    [Function("getFriendList")]
    public Task<IActionResult> GetFriendList([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "getFriendList")] HttpRequest req) => Run(req, "getFriendList");

    [Function("addFriendInvite")]
    public Task<IActionResult> AddFriendInvite([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "addFriendInvite")] HttpRequest req) => Run(req, "addFriendInvite");

    [Function("getBlockList")]
    public Task<IActionResult> GetBlockList([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "getBlockList")] HttpRequest req) => Run(req, "getBlockList");

    [Function("setFriendRemark")]
    public Task<IActionResult> SetFriendRemark([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "setFriendRemark")] HttpRequest req) => Run(req, "setFriendRemark");

    [Function("unblockUser")]
    public Task<IActionResult> UnblockUser([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "unblockUser")] HttpRequest req) => Run(req, "unblockUser");

    [Function("searchConversations")]
    public Task<IActionResult> SearchConversations([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "searchConversations")] HttpRequest req) => Run(req, "searchConversations");

    [Function("revokeMsg")]
    public Task<IActionResult> RevokeMsg([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "revokeMsg")] HttpRequest req) => Run(req, "revokeMsg");

    [Function("removeRemindMsgId")]
    public Task<IActionResult> RemoveRemindMsgId([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "removeRemindMsgId")] HttpRequest req) => Run(req, "removeRemindMsgId");

    [Function("editMsg")]
    public Task<IActionResult> EditMsg([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "editMsg")] HttpRequest req) => Run(req, "editMsg");

    [Function("searchMessages")]
    public Task<IActionResult> SearchMessages([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "searchMessages")] HttpRequest req) => Run(req, "searchMessages");

    [Function("revokeUserTokens")]
    public Task<IActionResult> RevokeUserTokens([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "revokeUserTokens")] HttpRequest req) => Run(req, "revokeUserTokens");

    [Function("upsertUser")]
    public Task<IActionResult> UpsertUser([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "upsertUser")] HttpRequest req) => Run(req, "upsertUser");

    [Function("sendSystemMsg")]
    public Task<IActionResult> SendSystemMsg([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "sendSystemMsg")] HttpRequest req) => Run(req, "sendSystemMsg");

    [Function("health")]
    public async Task<IActionResult> Health([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest req)
    {
        await HealthApi.WriteAsync(req.HttpContext);
        return new EmptyResult();
    }

    [Function("logout")]
    public Task<IActionResult> Logout([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "logout")] HttpRequest req) => Run(req, "logout");

    [Function("logoutAll")]
    public Task<IActionResult> LogoutAll([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "logoutAll")] HttpRequest req) => Run(req, "logoutAll");

    [Function("updateUserInfo")]
    public Task<IActionResult> UpdateUserInfo([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "updateUserInfo")] HttpRequest req) => Run(req, "updateUserInfo");

    [Function("exportMyData")]
    public Task<IActionResult> ExportMyData([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "exportMyData")] HttpRequest req) => Run(req, "exportMyData");

    [Function("deleteAccount")]
    public Task<IActionResult> DeleteAccount([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "deleteAccount")] HttpRequest req) => Run(req, "deleteAccount");
}
