using System.Collections;
using System.Text;
using System.Text.Json;
using ImFunctions.Api;
using ImFunctions.Api.Hosting;
using ImFunctions.Core.Domain;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Hardening;

/// <summary>
/// Every bad-input promise of docs/api.md, on every method of the table (a method added later is covered by being
/// added): 413 over 64 KB, 415 for what is not JSON, 400 for malformed JSON, for a body that is not an object and for a
/// known field of the wrong type (naming it), 405 for other verbs, 401 without a token. Always the envelope, never an
/// error-log line, and nothing written.
/// </summary>
public sealed class MethodTablePromiseTests
{
    TestApp app = null!;
    RawClient client = null!;
    CapturedLogs logs = null!;
    TestUser alice = null!, bob = null!;
    string before = null!;

    static IEnumerable<ImMethod> Table => UniImMethods.Create();
    static IEnumerable<string> AllMethods() => Table.Select(m => m.Name);
    static IEnumerable<string> UserMethods() => Table.Where(m => m.Access == Access.User).Select(m => m.Name);

    static IEnumerable<TestCaseData> NotAnObject() =>
        from m in Table
        from body in new[] { "[]", "[{}]", "42", "-0", "null", "true", "\"x\"" }
        select new TestCaseData(m.Name, body);

    /// <summary>Each field of each request record, with a value of a JSON type it cannot bind to.</summary>
    static IEnumerable<TestCaseData> WrongTypes() =>
        from m in Table
        where m.RequestType != typeof(JsonElement)
        from field in RequestFuzz.FieldsOf(m)
        from wrong in WrongValuesFor(field.Type)
        select new TestCaseData(m.Name, field.Name, wrong);

    static IEnumerable<string> WrongValuesFor(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(JsonElement)) return [];   // any JSON is that field's business (a message body)
        if (t == typeof(string)) return ["42", "{}", "[\"a\"]", "true"];
        if (t == typeof(bool)) return ["\"yes\"", "1"];
        if (t.IsPrimitive || t == typeof(decimal)) return ["\"12\"", "{}", "[1]", "true", "1e309", "1.5e400"];
        if (t.IsArray || (t.IsGenericType && typeof(IEnumerable).IsAssignableFrom(t))) return ["\"a\"", "{}", "42", "[{}]"];
        return ["42", "\"x\"", "[]"];
    }

    [OneTimeSetUp]
    public async Task Start()
    {
        app = await TestApp.StartAsync(S2SSigner.Settings);
        client = new RawClient(app);
        logs = CapturedLogs.AttachTo(app);
        (alice, bob) = (await app.LoginAsync(), await app.LoginAsync());
        (await alice.SendTextAsync(bob.Uid, "hello")).AssertOk();
        (await bob.SendTextAsync(alice.Uid, "unread for alice")).AssertOk();
        before = await SnapshotAsync();
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
        Assert.That(await SnapshotAsync(), Is.EqualTo(before), "a refused request wrote");
        Assert.That(logs.Errors, Is.Empty);
    }

    async Task<string> SnapshotAsync() =>
        (await alice.PostAsync("getConversationList")).AssertOk().Data + "\n" + (await bob.PostAsync("getConversationList")).AssertOk().Data;

    /// <summary>As its caller would: a user method with alice's token, a server-to-server method signed over exactly these bytes.</summary>
    Task<ApiReply> Send(string method, string? body, string? contentType = "application/json", HttpMethod? verb = null, bool withToken = true)
    {
        var bytes = body is null ? null : Encoding.UTF8.GetBytes(body);
        verb ??= HttpMethod.Post;
        return IsServerMethod(method)
            ? client.SendAsync(verb, method, bytes, contentType, headers: S2SSigner.HeadersFor(verb, method, bytes))
            : client.SendAsync(verb, method, bytes, contentType, withToken ? alice.Token : null);
    }

    static bool IsServerMethod(string method) => Table.Single(m => m.Name == method).Access == Access.Server;

    static void AssertField(ApiReply reply, string field) =>
        Assert.That(reply.Body.GetProperty("errMsg").GetString(), Does.StartWith(field), reply.Body.ToString());

    [TestCaseSource(nameof(AllMethods))]
    public async Task A_body_over_64_KB_is_413(string method)
    {
        var huge = Encoding.UTF8.GetBytes("{\"pad\":\"" + new string('x', RequestBody.MaxBytes) + "\"}");
        var signed = IsServerMethod(method) ? S2SSigner.HeadersFor(HttpMethod.Post, method, huge) : null;
        (await client.SendAsync(HttpMethod.Post, method, huge, "application/json", alice.Token, signed)).AssertError(413, ErrorCodes.TooLarge);
        // Without a Content-Length the limit holds while reading.
        (await client.SendAsync(HttpMethod.Post, method, huge, "application/json", alice.Token, signed, chunked: true)).AssertError(413, ErrorCodes.TooLarge);
    }

    [TestCaseSource(nameof(AllMethods))]
    public async Task A_body_that_is_not_JSON_by_its_content_type_is_415(string method)
    {
        foreach (var contentType in new[] { "text/plain", "application/x-www-form-urlencoded", "application/xml", null })
            (await Send(method, "{}", contentType)).AssertError(415, ErrorCodes.InvalidParam);
    }

    [TestCaseSource(nameof(AllMethods))]
    public async Task Malformed_JSON_is_400_naming_the_body(string method)
    {
        foreach (var body in new[] { "{", "{\"a\":}", "{}{}", "{'a':1}", "nul", "{\"a\":1,}" })
        {
            var reply = await Send(method, body);
            reply.AssertError(400, ErrorCodes.InvalidParam);
            AssertField(reply, "body");
        }
    }

    [TestCaseSource(nameof(NotAnObject))]
    public async Task A_JSON_body_that_is_not_an_object_is_400(string method, string body)
    {
        var reply = await Send(method, body);
        if (Table.Single(m => m.Name == method).RequestType == typeof(JsonElement))
        {
            // Such a method reads the raw body itself: loginWithJWT takes a bare JWT string (docs/api.md), so "x" is a bad JWT.
            Assert.That(reply.Status, Is.InRange(400, 499), reply.Body.ToString());
            Assert.That(reply.Body.GetProperty("errSubject").GetString(), Is.EqualTo("uni-im-co"));
            return;
        }
        reply.AssertError(400, ErrorCodes.InvalidParam);
        AssertField(reply, "body");
    }

    [TestCaseSource(nameof(WrongTypes))]
    public async Task A_known_field_of_the_wrong_JSON_type_is_400_naming_it(string method, string field, string value)
    {
        var reply = await Send(method, $"{{\"{field}\":{value}}}");
        reply.AssertError(400, ErrorCodes.InvalidParam);
        AssertField(reply, field);
    }

    [TestCaseSource(nameof(AllMethods))]
    public async Task Other_verbs_are_405_in_the_envelope(string method)
    {
        foreach (var verb in new[] { HttpMethod.Get, HttpMethod.Put, HttpMethod.Delete })
            (await Send(method, null, null, verb)).AssertError(405, ErrorCodes.InvalidParam);
    }

    [TestCaseSource(nameof(UserMethods))]
    public async Task Without_a_token_a_user_method_is_401(string method)
    {
        (await Send(method, "{}", withToken: false)).AssertError(401, ErrorCodes.TokenInvalid);
    }
}
