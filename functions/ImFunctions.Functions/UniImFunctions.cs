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
