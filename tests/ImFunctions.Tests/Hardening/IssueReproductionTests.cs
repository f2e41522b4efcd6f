using System.Text;
using ImFunctions.Core.Domain;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Hardening;

/// <summary>
/// The defects an attacker's afternoon found (issue 9), each as it was reported: text that is not Unicode,
/// validators that met a null, a method that ignored its body. Each must be a 400/413/415 in the envelope that
/// names the field, with nothing written and nothing in the error log.
/// </summary>
public sealed class IssueReproductionTests
{
    TestApp app = null!;
    RawClient client = null!;
    CapturedLogs logs = null!;
    TestUser alice = null!, bob = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        app = await TestApp.StartAsync();
        client = new RawClient(app);
        logs = CapturedLogs.AttachTo(app);
        alice = await app.LoginAsync();
        bob = await app.LoginAsync();
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        client.Dispose();
        await app.DisposeAsync();
    }

    [TearDown]
    public async Task Nothing_was_written_and_nothing_was_logged_as_an_error()
    {
        foreach (var user in new[] { alice, bob })
            Assert.That((await user.PostAsync("getConversationList")).AssertOk().Data.GetArrayLength(), Is.EqualTo(0), "a refused request wrote a conversation");
        Assert.That(logs.Errors, Is.Empty);
    }

    static byte[] Bytes(params object[] parts) =>
        parts.SelectMany(p => p is string s ? Encoding.UTF8.GetBytes(s) : (byte[])p).ToArray();

    static void AssertRefused(ApiReply reply, int status, string errCode, string? field = null)
    {
        reply.AssertError(status, errCode);
        var message = reply.Body.GetProperty("errMsg").GetString()!;
        Assert.That(message, Does.Not.Contain(" at ").And.Not.Contain("Exception"), "the answer leaks a stack trace");
        if (field is not null) Assert.That(message, Does.StartWith(field), reply.Body.ToString());
    }

    [Test]
    public async Task Raw_invalid_UTF8_bytes_inside_signedData_are_400_naming_signedData()
    {
        var body = Bytes("{\"signedData\":\"eyJ", new byte[] { 0xFF, 0xFE, 0xC3, 0x28 }, "\"}");
        AssertRefused(await client.SendAsync(HttpMethod.Post, "loginWithJWT", body, "application/json"), 400, ErrorCodes.InvalidParam, "signedData");
    }

    [Test]
    public async Task A_lone_surrogate_in_signedData_is_400_naming_signedData()
    {
        AssertRefused(await client.PostJsonAsync("loginWithJWT", """{"signedData":"\ud800"}"""), 400, ErrorCodes.InvalidParam, "signedData");
    }

    [TestCase("text", "\"\\ud800\"", "body")]
    [TestCase("image", "{\"url\":\"\\ud800\"}", "body.url")]
    [TestCase("image", "\"\\udc00https://example.com/a.png\"", "body")]
    [TestCase("text", "{\"a\":\"\\ud800\"}", "body.a")]
    public async Task A_lone_surrogate_in_a_message_body_is_400_naming_the_field(string type, string body, string field)
    {
        var json = $$"""{"to_uid":"{{bob.Uid}}","appId":"__UNI__TEST","type":"{{type}}","body":{{body}}}""";
        AssertRefused(await client.PostJsonAsync("sendMsg", json, alice.Token), 400, ErrorCodes.InvalidParam, field);
    }

    [Test]
    public async Task Raw_invalid_UTF8_bytes_in_a_message_body_are_400_naming_the_field()
    {
        var json = Bytes($"{{\"to_uid\":\"{bob.Uid}\",\"appId\":\"__UNI__TEST\",\"type\":\"text\",\"body\":\"hi ", new byte[] { 0xC3, 0x28 }, "\"}");
        AssertRefused(await client.SendAsync(HttpMethod.Post, "sendMsg", json, "application/json", alice.Token), 400, ErrorCodes.InvalidParam, "body");
    }

    [TestCase("{}")]
    [TestCase("{\"user_ids\":null}")]
    [TestCase("{\"user_ids\":[null]}")]
    [TestCase("{\"user_ids\":\"abc\"}")]
    public async Task getUserInfo_without_usable_user_ids_is_400_naming_user_ids(string json)
    {
        AssertRefused(await client.PostJsonAsync("getUserInfo", json, alice.Token), 400, ErrorCodes.InvalidParam, "user_ids");
    }

    [TestCase("{", 400)]
    [TestCase("[1]", 400)]
    [TestCase("42", 400)]
    [TestCase("null", 400)]
    [TestCase("\"x\"", 400)]
    public async Task negotiate_refuses_a_body_that_is_not_a_JSON_object(string json, int status)
    {
        AssertRefused(await client.PostJsonAsync("negotiate", json, alice.Token), status, ErrorCodes.InvalidParam, "body");
    }

    [Test]
    public async Task negotiate_refuses_a_body_over_64_KB_and_bodies_that_are_not_JSON()
    {
        var huge = Encoding.UTF8.GetBytes("{\"pad\":\"" + new string('x', 70_000) + "\"}");
        AssertRefused(await client.SendAsync(HttpMethod.Post, "negotiate", huge, "application/json", alice.Token), 413, ErrorCodes.TooLarge);
        AssertRefused(await client.SendAsync(HttpMethod.Post, "negotiate", "{}"u8.ToArray(), "text/plain", alice.Token), 415, ErrorCodes.InvalidParam);
        AssertRefused(await client.SendAsync(HttpMethod.Post, "negotiate", "{}"u8.ToArray(), contentType: null, alice.Token), 415, ErrorCodes.InvalidParam);
    }

    [Test]
    public async Task negotiate_still_answers_an_empty_body_and_an_empty_object()
    {
        Assert.That((await client.SendAsync(HttpMethod.Post, "negotiate", null, null, alice.Token)).AssertOk().Data.GetProperty("url").GetString(), Does.StartWith("ws"));
        Assert.That((await client.PostJsonAsync("negotiate", "{}", alice.Token)).AssertOk().Data.GetProperty("url").GetString(), Does.StartWith("ws"));
    }
}
