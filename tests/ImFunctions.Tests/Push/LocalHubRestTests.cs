using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Azure;
using ImFunctions.Core.Push.LocalHub;
using ImFunctions.Core.Push.WebPubSub;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Push;

// The production REST client against the local hub's REST API: the same calls the app makes in Azure,
// delivered to real sockets. (Microsoft's JS server SDK drives the same API in WebPubSubSdkTests.)
[TestFixture]
public class LocalHubRestTests
{
    TestApp app = null!;
    WebPubSubRestClient client = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        app = await TestApp.StartAsync();
        client = new WebPubSubRestClient(WebPubSubConnectionString.Parse(app.Service<LocalHubOptions>().ConnectionString!), "im");
    }

    [OneTimeTearDown]
    public async Task Stop() => await app.DisposeAsync();

    static string NewUser() => "u-" + Guid.NewGuid().ToString("N")[..12];
    static ReadOnlyMemory<byte> Json(string json) => Encoding.UTF8.GetBytes(json);
    Uri ClientUrl(string userId, string[]? roles = null, string[]? groups = null) =>
        client.GetClientAccess(userId, roles, groups, TimeSpan.FromMinutes(5)).Url;

    [Test]
    public void The_local_connection_string_is_a_web_pubsub_one_with_a_port()
    {
        var connection = app.Service<LocalHubOptions>().ConnectionString!;

        Assert.That(connection, Does.Match(@"^Endpoint=http://127\.0\.0\.1;Port=\d+;AccessKey=.+;Version=1\.0;$"));
        Assert.That(WebPubSubConnectionString.Parse(connection).Endpoint, Is.EqualTo(new Uri(app.BaseAddress.GetLeftPart(UriPartial.Authority))));
    }

    [Test]
    public async Task Send_to_user_reaches_every_connection_of_that_user_and_no_one_else()
    {
        var (user, other) = (NewUser(), NewUser());
        var (phone, _) = await HubSocket.OpenAsync(ClientUrl(user));
        var (laptop, _) = await HubSocket.OpenAsync(ClientUrl(user), HubSocket.Json);
        var (stranger, _) = await HubSocket.OpenAsync(ClientUrl(other));
        await using var _1 = phone;
        await using var _2 = laptop;
        await using var _3 = stranger;

        await client.SendToUserAsync(user, Json("""{"hello":"you"}"""), CancellationToken.None);

        var reliable = await phone.NextOfTypeAsync("message");
        var plain = await laptop.NextOfTypeAsync("message");
        Assert.That(reliable.ToString(), Is.EqualTo("""{"sequenceId":1,"type":"message","from":"server","dataType":"json","data":{"hello":"you"}}"""));
        Assert.That(plain.ToString(), Is.EqualTo("""{"type":"message","from":"server","dataType":"json","data":{"hello":"you"}}"""));
        Assert.That(await stranger.IsQuietAsync(TimeSpan.FromMilliseconds(300)), Is.True);
    }

    [Test]
    public async Task User_ids_with_slashes_and_spaces_survive_the_path()
    {
        var user = "team a/" + NewUser();
        var (socket, connected) = await HubSocket.OpenAsync(ClientUrl(user));
        await using var _ = socket;

        await client.SendToUserAsync(user, Json("1"), CancellationToken.None);

        Assert.That(connected.GetProperty("userId").GetString(), Is.EqualTo(user));
        Assert.That((await socket.NextOfTypeAsync("message")).GetProperty("data").GetInt32(), Is.EqualTo(1));
        Assert.That(await client.UserExistsAsync(user, CancellationToken.None), Is.True);
    }

    [Test]
    public async Task A_user_added_to_a_group_gets_its_messages_until_removed()
    {
        var (user, group) = (NewUser(), "g-" + NewUser());
        var (socket, _) = await HubSocket.OpenAsync(ClientUrl(user));
        await using var _1 = socket;

        await client.AddUserToGroupAsync(user, group, CancellationToken.None);
        await client.SendToGroupAsync(group, Json("""{"n":1}"""), CancellationToken.None);
        var first = await socket.NextOfTypeAsync("message");
        await client.RemoveUserFromGroupAsync(user, group, CancellationToken.None);
        await client.SendToGroupAsync(group, Json("""{"n":2}"""), CancellationToken.None);

        Assert.That(first.GetProperty("from").GetString(), Is.EqualTo("group"));
        Assert.That(first.GetProperty("group").GetString(), Is.EqualTo(group));
        Assert.That(first.GetProperty("data").GetProperty("n").GetInt32(), Is.EqualTo(1));
        Assert.That(await socket.IsQuietAsync(TimeSpan.FromMilliseconds(300)), Is.True);
    }

    [Test]
    public async Task Group_membership_of_a_user_holds_for_connections_opened_later_until_removed_from_all()
    {
        var (user, group) = (NewUser(), "g-" + NewUser());
        await client.AddUserToGroupAsync(user, group, CancellationToken.None);
        var (later, _) = await HubSocket.OpenAsync(ClientUrl(user));
        await using var _1 = later;

        await client.SendToGroupAsync(group, Json("1"), CancellationToken.None);
        var received = await later.NextOfTypeAsync("message");
        await client.RemoveUserFromAllGroupsAsync(user, CancellationToken.None);
        await client.SendToGroupAsync(group, Json("2"), CancellationToken.None);

        Assert.That(received.GetProperty("data").GetInt32(), Is.EqualTo(1));
        Assert.That(await later.IsQuietAsync(TimeSpan.FromMilliseconds(300)), Is.True);
    }

    [Test]
    public async Task User_exists_while_the_user_has_a_connection()
    {
        var user = NewUser();
        Assert.That(await client.UserExistsAsync(user, CancellationToken.None), Is.False);

        var (socket, _) = await HubSocket.OpenAsync(ClientUrl(user), HubSocket.Json);
        Assert.That(await client.UserExistsAsync(user, CancellationToken.None), Is.True);

        await socket.DisposeAsync();
        await WaitUntil(async () => !await client.UserExistsAsync(user, CancellationToken.None));
    }

    [Test]
    public async Task Closing_a_users_connections_says_disconnected_then_closes_and_refuses_recovery()
    {
        var user = NewUser();
        var (socket, connected) = await HubSocket.OpenAsync(ClientUrl(user));
        await using var _ = socket;

        await client.CloseUserConnectionsAsync(user, "bye now", CancellationToken.None);

        var disconnected = await socket.NextAsync();
        Assert.That(disconnected.ToString(), Is.EqualTo("""{"type":"system","event":"disconnected","message":"bye now"}"""));
        Assert.That(await socket.Closed, Is.EqualTo(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure));
        Assert.That(await client.UserExistsAsync(user, CancellationToken.None), Is.False);

        var recovery = await HubSocket.ConnectAsync(RecoveryUrl(ClientUrl(user), connected));
        await using var _2 = recovery;
        Assert.That(await recovery.Closed, Is.EqualTo(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation));
    }

    [Test]
    public async Task Sends_to_nobody_are_accepted()
    {
        await client.SendToUserAsync(NewUser(), Json("{}"), CancellationToken.None);
        await client.SendToGroupAsync("empty-" + NewUser(), Json("{}"), CancellationToken.None);
        await client.SendToAllAsync(Json("{}"), CancellationToken.None);
    }

    [Test]
    public async Task A_service_issued_client_token_opens_a_connection_with_its_roles_and_groups()
    {
        var user = NewUser();
        var token = await client.GenerateClientTokenAsync(user, ["webpubsub.sendToGroup.g1"], ["g1"], 5, CancellationToken.None);
        var (socket, connected) = await HubSocket.OpenAsync(new Uri(ClientUrl(user).GetLeftPart(UriPartial.Path) + "?access_token=" + token));
        await using var _ = socket;

        await socket.SendAsync(new { type = "sendToGroup", group = "g1", ackId = 1, dataType = "text", data = "hi" });

        var echo = await socket.NextAsync();
        var ack = await socket.NextAsync();
        Assert.That(connected.GetProperty("userId").GetString(), Is.EqualTo(user));
        Assert.That(echo.ToString(), Is.EqualTo($$"""{"sequenceId":1,"type":"message","from":"group","group":"g1","fromUserId":"{{user}}","dataType":"text","data":"hi"}"""));
        Assert.That(ack.ToString(), Is.EqualTo("""{"type":"ack","ackId":1,"success":true}"""));
    }

    [Test]
    public async Task A_call_signed_with_another_key_is_refused_with_401()
    {
        var endpoint = app.Service<LocalHubOptions>().PublicBaseUrl!;
        var intruder = new WebPubSubRestClient(new WebPubSubConnectionString(endpoint, "not-the-hub-key-0123456789abcdefghijklmn"), "im");

        var refused = await Assert.ThrowsAsync<RequestFailedException>(() => intruder.SendToAllAsync(Json("{}"), CancellationToken.None));

        Assert.That(refused!.Status, Is.EqualTo(401));
        Assert.That(refused.ErrorCode, Is.EqualTo("Unauthorized"));
    }

    [Test]
    public async Task A_token_for_another_url_or_none_is_refused_and_answers_are_web_pubsub_errors_not_uni_im_envelopes()
    {
        var endpoint = app.Service<LocalHubOptions>().PublicBaseUrl!;
        var signedForOtherPath = WebPubSubTokens.ForRestRequest(new Uri(endpoint, "/api/hubs/im/users/x/:send"), TestApp.HubAccessKey, DateTimeOffset.UtcNow);
        using var http = new HttpClient { BaseAddress = endpoint };

        using var wrongAudience = new HttpRequestMessage(HttpMethod.Post, "/api/hubs/im/:send?api-version=2024-12-01") { Content = new StringContent("{}") };
        wrongAudience.Headers.Authorization = new AuthenticationHeaderValue("Bearer", signedForOtherPath);
        using var noToken = new HttpRequestMessage(HttpMethod.Head, "/api/hubs/im/users/x?api-version=2024-12-01");
        using var refused = await http.SendAsync(wrongAudience);
        using var anonymous = await http.SendAsync(noToken);

        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(refused.Headers.GetValues("x-ms-error-code"), Is.EqualTo(new[] { "Unauthorized" }));
        Assert.That(await refused.Content.ReadAsStringAsync(), Does.Contain("\"code\":\"Unauthorized\"").And.Not.Contain("errCode"));
        Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task A_token_whose_audience_leaves_out_the_query_is_accepted_as_the_docs_describe()
    {
        var endpoint = app.Service<LocalHubOptions>().PublicBaseUrl!;
        var url = new Uri(endpoint, "/api/hubs/im/:send?api-version=2024-12-01");
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent("{}", new MediaTypeHeaderValue("application/json")) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer",
            WebPubSubTokens.ForRestRequest(new Uri(url.GetLeftPart(UriPartial.Path)), TestApp.HubAccessKey, DateTimeOffset.UtcNow));

        using var response = await http.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
    }

    [Test]
    public async Task Status_codes_are_exactly_the_services()
    {
        var endpoint = app.Service<LocalHubOptions>().PublicBaseUrl!;
        using var http = new HttpClient { BaseAddress = endpoint };
        async Task<int> Call(HttpMethod method, string pathAndQuery, string? json = null, string contentType = "application/json")
        {
            var uri = new Uri(endpoint, pathAndQuery);
            using var request = new HttpRequestMessage(method, uri);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", WebPubSubTokens.ForRestRequest(uri, TestApp.HubAccessKey, DateTimeOffset.UtcNow));
            if (json is not null)
            {
                request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
            }
            using var response = await http.SendAsync(request);
            return (int)response.StatusCode;
        }
        const string v = "?api-version=2024-12-01";

        Assert.Multiple(async () =>
        {
            Assert.That(await Call(HttpMethod.Post, "/api/hubs/im/:send" + v, "{}"), Is.EqualTo(202));
            Assert.That(await Call(HttpMethod.Post, "/api/hubs/IM/users/a/:send" + v, "hi", "text/plain"), Is.EqualTo(202), "hub names are case-insensitive");
            Assert.That(await Call(HttpMethod.Post, "/api/hubs/im/groups/g/:send" + v, "AAE=", "application/octet-stream"), Is.EqualTo(202));
            Assert.That(await Call(HttpMethod.Post, "/api/hubs/im/:send" + v, "{not json"), Is.EqualTo(400));
            Assert.That(await Call(HttpMethod.Post, "/api/hubs/im/:send" + v + "&filter=userId%20eq%20'a'", "{}"), Is.EqualTo(400));
            Assert.That(await Call(HttpMethod.Put, "/api/hubs/im/users/a/groups/g" + v), Is.EqualTo(200));
            Assert.That(await Call(HttpMethod.Put, "/api/hubs/im/users/a/groups/%20" + v), Is.EqualTo(400));
            Assert.That(await Call(HttpMethod.Delete, "/api/hubs/im/users/a/groups/g" + v), Is.EqualTo(204));
            Assert.That(await Call(HttpMethod.Delete, "/api/hubs/im/users/a/groups" + v), Is.EqualTo(204));
            Assert.That(await Call(HttpMethod.Put, "/api/hubs/im/groups/g/connections/nope" + v), Is.EqualTo(404));
            Assert.That(await Call(HttpMethod.Post, "/api/hubs/im/users/a/:closeConnections" + v), Is.EqualTo(204));
            Assert.That(await Call(HttpMethod.Delete, "/api/hubs/im/connections/nope" + v), Is.EqualTo(204));
            Assert.That(await Call(HttpMethod.Head, "/api/hubs/im/users/nobody" + v), Is.EqualTo(404));
            Assert.That(await Call(HttpMethod.Head, "/api/hubs/im/groups/nobody" + v), Is.EqualTo(404));
            Assert.That(await Call(HttpMethod.Post, "/api/hubs/other/:send" + v, "{}"), Is.EqualTo(404));
        });
    }

    internal static Uri RecoveryUrl(Uri clientUrl, System.Text.Json.JsonElement connected) =>
        new(clientUrl + "&awps_connection_id=" + Uri.EscapeDataString(connected.GetProperty("connectionId").GetString()!)
            + "&awps_reconnection_token=" + Uri.EscapeDataString(connected.GetProperty("reconnectionToken").GetString()!));

    internal static async Task WaitUntil(Func<Task<bool>> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("The condition did not become true in time.");
            await Task.Delay(25);
        }
    }
}
